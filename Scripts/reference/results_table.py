#!/usr/bin/env python3
"""Summarizes Scripts/reference/results.sh output: mean ± std per (world, task, input, probe,
pretraining) over seeds, the no-learning baseline, and a verdict per comparison (a win only when
the gap of means exceeds 2 pooled standard deviations). Prints Markdown.

Usage: results_table.py OUT
"""
import glob
import json
import os
import statistics as st
import sys

out = sys.argv[1]
WORLDS = {
    "A": "base, seed 42",
    "B": "base, seed 7",
    "D": "decoupled, seed 42",
    "B600": "base, seed 7; pretraining 600 steps instead of 200, seed 1 only",
    "R": "real Sen1Floods11 chip Spain_7370579, encoders pretrained on world A",
}
ORDER = ["baseline", "random", "simclr", "multimodal"]


def ms(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "—", None, None
    m = st.mean(xs)
    s = st.stdev(xs) if len(xs) > 1 else 0.0
    return f"{m:.3f} ± {s:.3f}", m, s


def verdict(a, b, key, label_a, label_b):
    xa = [r[key] for r in a if r[key] is not None]
    xb = [r[key] for r in b if r[key] is not None]
    if len(xa) < 2 or len(xb) < 2:
        return None
    ma, mb = st.mean(xa), st.mean(xb)
    pooled = ((st.variance(xa) + st.variance(xb)) / 2) ** 0.5
    gap = ma - mb
    if pooled == 0:
        word = "tie" if gap == 0 else ("win" if gap > 0 else "loss")
    elif gap > 2 * pooled:
        word = "**win**"
    elif gap < -2 * pooled:
        word = "**loss**"
    else:
        word = "no significant difference"
    return f"{label_a} vs {label_b} ({key}): {gap:+.3f} (pooled std {pooled:.3f}) → {word}"


for path in sorted(glob.glob(os.path.join(out, "eval", "*.jsonl"))):
    name = os.path.basename(path)[: -len(".jsonl")]
    world, task, inp, probe = name.split("-")
    reports = [json.loads(line) for line in open(path) if line.strip()]
    if not reports:
        continue
    rows = {k: [] for k in ORDER}
    for rep in reports:
        rows["baseline"].append(rep["results"][0])
        rows[rep["mode"]].append(rep["results"][1])
    first = reports[0]
    metrics = (
        ["water_iou", "water_f1", "overall_accuracy", "balanced_accuracy"]
        if task == "flood"
        else ["overall_accuracy", "balanced_accuracy"]
    )
    print(
        f"### World {world} ({WORLDS.get(world, world)}): {task}, input {first['modality']}, "
        f"{probe} probe"
    )
    print()
    print(
        f"{first['window_size']} px windows; {first['train_windows']} probe-train windows "
        f"({first['train_locations']} locations, tiles {', '.join(first['train_tiles'])}), "
        f"{first['test_windows']} test windows ({first['test_locations']} locations, tiles "
        f"{', '.join(first['test_tiles'])})."
    )
    print()
    print("| features | n | " + " | ".join(m.replace("_", " ") for m in metrics) + " |")
    print("|---|---|" + "---|" * len(metrics))
    for who in ORDER:
        v = rows[who]
        if not v:
            continue
        label = {
            "baseline": v[0]["name"] + " (no learning)",
            "random": "random init (BN calibrated)",
            "simclr": "SimCLR",
            "multimodal": "multimodal (S1/S2 pairs)",
        }[who]
        print(f"| {label} | {len(v)} | " + " | ".join(ms([r[m] for r in v])[0] for m in metrics) + " |")
    print()
    key = metrics[0]
    for a, b in [("multimodal", "simclr"), ("multimodal", "random"), ("multimodal", "baseline"),
                 ("simclr", "random")]:
        line = verdict(rows[a], rows[b], key, a, b)
        if line:
            print(f"- {line}")
    secs = [rep["seconds"] for rep in reports]
    print(f"- eval time per checkpoint: {st.mean(secs):.0f} s mean (windows read once per command)")
    print()

# Pretraining: wall time and final loss / in-batch accuracy per run.
runs = sorted(glob.glob(os.path.join(out, "runs", "*", "summary.json")))
if runs:
    print("### Pretraining runs")
    print()
    print("| run | steps | wall s | pairs/s | final loss | mean in-batch acc (last 20 steps) |")
    print("|---|---|---|---|---|---|")
    for path in runs:
        s = json.load(open(path))
        run = os.path.dirname(path)
        accs = []
        try:
            lines = [json.loads(x) for x in open(os.path.join(run, "metrics.jsonl")) if x.strip()]
            accs = [l.get("accuracy") for l in lines[-20:] if l.get("accuracy") is not None]
        except OSError:
            pass
        acc = f"{st.mean(accs):.3f}" if accs else "—"
        print(
            f"| {os.path.basename(run)} | {s.get('steps')} | {s.get('wallSeconds', 0):.0f} | "
            f"{s.get('pairsPerSecond', 0):.1f} | {s.get('finalLoss', float('nan')):.3f} | {acc} |"
        )
