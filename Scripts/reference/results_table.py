#!/usr/bin/env python3
"""Summarizes Scripts/reference/results.sh output as Markdown:

1. the target table: per (task, probe, preset) the no-learning baseline, random init, SimCLR and
   multimodal as mean ± sample sd over every (init seed × world seed) report, and the gaps
   multimodal − SimCLR, SimCLR − random, random − baseline in pooled sd
   (gap / sqrt((sd_a² + sd_b²) / 2)); a gap counts (✓) when it exceeds 2 sd;
2. label efficiency: the U-Net probes at each train fraction;
3. per world: every probe's table;
4. the pretraining runs (final loss, in-batch accuracy, wall time).

Usage: results_table.py OUT
"""
import glob
import json
import os
import statistics as st
import sys

out = sys.argv[1]
WORLDS = {
    "A": ("base", "seed 42"),
    "B": ("base", "seed 7"),
    "AH": ("heavy-nuisance", "seed 42"),
    "BH": ("heavy-nuisance", "seed 7"),
    "D": ("decoupled", "seed 42"),
    "R": ("real Sen1Floods11 chip Spain_7370579", "S1 encoders of world A"),
}
ORDER = ["baseline", "random", "simclr", "multimodal"]
LABEL = {
    "baseline": "no learning",
    "random": "random init",
    "simclr": "SimCLR",
    "multimodal": "multimodal",
}
TASKS = {  # (task, input, probe) → (title, metric)
    ("landcover", "s2", "linear"): ("land cover S2, window class (linear probe)", "overall_accuracy"),
    ("landcover", "s2", "unet"): ("land cover S2, per pixel (U-Net probe)", "overall_accuracy"),
    ("landcover", "s1", "linear"): ("land cover S1, window class (linear probe)", "overall_accuracy"),
    ("flood", "s1", "unet"): ("flood S1, water IoU (U-Net probe)", "water_iou"),
    ("flood", "s1", "linear"): ("flood S1, water IoU (linear probe)", "water_iou"),
    ("flood", "s1", "head"): ("flood S1, water IoU (stride-8 head)", "water_iou"),
}


def load():
    """{(world, task, input, probe): [report, …]}"""
    data = {}
    for path in sorted(glob.glob(os.path.join(out, "eval", "*.jsonl"))):
        name = os.path.basename(path)[: -len(".jsonl")]
        world, task, inp, probe = name.split("-")
        data[(world, task, inp, probe)] = [json.loads(l) for l in open(path) if l.strip()]
    return data


def values(reports, who, metric, fraction=1.0):
    """Metric values of `who` at `fraction`; the baseline once per distinct report set (it does
    not depend on the checkpoint except through its normalization, so take the random rows')."""
    xs = []
    for r in reports:
        if abs(r.get("train_fraction", 1) - fraction) > 1e-9:
            continue
        if who == "baseline":
            # One baseline per world: the first random init's report (its normalization is
            # estimated from data, like every random row).
            if r["mode"] == "random" and r["checkpoint"] in ("random:1", "random"):
                xs.append(r["results"][0][metric])
        elif r["mode"] == who:
            xs.append(r["results"][1][metric])
    return [x for x in xs if x is not None]


def ms(xs):
    if not xs:
        return "—"
    s = st.stdev(xs) if len(xs) > 1 else 0.0
    return f"{st.mean(xs):.3f} ± {s:.3f}"


def gap(a, b):
    """(difference of means, gap in pooled sd, verdict mark)."""
    if not a or not b:
        return None
    va = st.variance(a) if len(a) > 1 else 0.0
    vb = st.variance(b) if len(b) > 1 else 0.0
    d = st.mean(a) - st.mean(b)
    pooled = ((va + vb) / 2) ** 0.5
    if pooled == 0:
        return d, float("inf") if d > 0 else (float("-inf") if d < 0 else 0.0), "✓" if d > 0 else "✗"
    z = d / pooled
    return d, z, "✓" if z > 2 else "✗"


def fmt_gap(g):
    if g is None:
        return "—"
    d, z, mark = g
    zs = "∞" if z == float("inf") else ("−∞" if z == float("-inf") else f"{z:+.1f}")
    return f"{d:+.3f} ({zs} sd) {mark}"


data = load()
if not data:
    sys.exit("no evaluation reports under " + os.path.join(out, "eval"))
protocol = ""
if os.path.exists(os.path.join(out, "protocol.txt")):
    protocol = open(os.path.join(out, "protocol.txt")).read().strip()
    print(f"Protocol: `{protocol}`")
    print()

# 1. Target table.
groups = [("base", ["A", "B"]), ("heavy-nuisance", ["AH", "BH"]), ("decoupled", ["D"]), ("real chip", ["R"])]
print("### Summary (mean ± sd over init seeds × world seeds; gaps in pooled sd, ✓ when > 2 sd)")
print()
print("| task (metric) | preset | n | no learning | random init | SimCLR | multimodal | "
      "multimodal − SimCLR | SimCLR − random | random − no learning | multimodal − random |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for key, (title, metric) in TASKS.items():
    for preset, worlds in groups:
        reports = [r for w in worlds for r in data.get((w,) + key, [])]
        if not reports:
            continue
        v = {who: values(reports, who, metric) for who in ORDER}
        n = max(len(v["multimodal"]), len(v["random"]))
        print(
            f"| {title} | {preset} | {n} | {ms(v['baseline'])} | {ms(v['random'])} | "
            f"{ms(v['simclr'])} | {ms(v['multimodal'])} | {fmt_gap(gap(v['multimodal'], v['simclr']))} | "
            f"{fmt_gap(gap(v['simclr'], v['random']))} | {fmt_gap(gap(v['random'], v['baseline']))} | "
            f"{fmt_gap(gap(v['multimodal'], v['random']))} |"
        )
print()

# 2. Label efficiency.
print("### Label efficiency (U-Net probe; fraction of probe-train locations)")
print()
print("| task (metric) | preset | fraction | no learning | random init | SimCLR | multimodal | "
      "multimodal − SimCLR | SimCLR − random | random − no learning |")
print("|---|---|---|---|---|---|---|---|---|---|")
for key, (title, metric) in TASKS.items():
    if key[2] != "unet":
        continue
    for preset, worlds in groups:
        reports = [r for w in worlds for r in data.get((w,) + key, [])]
        fractions = sorted({r.get("train_fraction", 1) for r in reports})
        if len(fractions) < 2:
            continue
        for f in fractions:
            v = {who: values(reports, who, metric, f) for who in ORDER}
            print(
                f"| {title} | {preset} | {f:g} | {ms(v['baseline'])} | {ms(v['random'])} | "
                f"{ms(v['simclr'])} | {ms(v['multimodal'])} | "
                f"{fmt_gap(gap(v['multimodal'], v['simclr']))} | "
                f"{fmt_gap(gap(v['simclr'], v['random']))} | "
                f"{fmt_gap(gap(v['random'], v['baseline']))} |"
            )
print()

# 3. Per world.
print("### Per world")
print()
for (world, task, inp, probe), reports in sorted(data.items()):
    title, metric = TASKS.get((task, inp, probe), (f"{task} {inp} ({probe})", "overall_accuracy"))
    preset, detail = WORLDS.get(world, (world, ""))
    first = reports[0]
    print(f"#### World {world} ({preset}, {detail}): {title}")
    print()
    print(
        f"{first['window_size']} px windows; {first['train_windows']} probe-train windows "
        f"({first['train_locations']} locations, tiles {', '.join(first['train_tiles'])}), "
        f"{first['test_windows']} test windows ({first['test_locations']} locations, tiles "
        f"{', '.join(first['test_tiles'])}); metric {metric.replace('_', ' ')}, "
        f"balanced accuracy in brackets."
    )
    print()
    fractions = sorted({r.get("train_fraction", 1) for r in reports})
    print("| features | " + " | ".join(f"fraction {f:g}" for f in fractions) + " |")
    print("|---|" + "---|" * len(fractions))
    for who in ORDER:
        cells = []
        for f in fractions:
            xs = values(reports, who, metric, f)
            bs = values(reports, who, "balanced_accuracy", f)
            cells.append(f"{ms(xs)} [{ms(bs)}] (n {len(xs)})" if xs else "—")
        if any(c != "—" for c in cells):
            print(f"| {LABEL[who]} | " + " | ".join(cells) + " |")
    secs = [r["seconds"] for r in reports]
    print()
    print(f"Eval time per checkpoint and fraction: {st.mean(secs):.0f} s mean (windows read once per command).")
    print()

# 4. Pretraining runs.
runs = sorted(glob.glob(os.path.join(out, "runs", "*", "summary.json")))
if runs:
    print("### Pretraining runs")
    print()
    print("| run | steps | wall s | pairs/s | final loss | loss, mean of last 50 steps | in-batch acc, last 50 |")
    print("|---|---|---|---|---|---|---|")
    for path in runs:
        s = json.load(open(path))
        run = os.path.dirname(path)
        losses, accs = [], []
        try:
            lines = [json.loads(x) for x in open(os.path.join(run, "metrics.jsonl")) if x.strip()]
            losses = [l.get("loss") for l in lines[-50:] if l.get("loss") is not None]
            accs = [l.get("accuracy") for l in lines[-50:] if l.get("accuracy") is not None]
        except OSError:
            pass
        print(
            f"| {os.path.basename(run)} | {s.get('steps')} | {s.get('wallSeconds', 0):.0f} | "
            f"{s.get('pairsPerSecond', 0):.1f} | {s.get('finalLoss', float('nan')):.3f} | "
            f"{st.mean(losses):.3f} | {st.mean(accs):.3f} |" if losses and accs else
            f"| {os.path.basename(run)} | {s.get('steps')} | — | — | — | — | — |"
        )
    print()

timings = os.path.join(out, "timings.tsv")
if os.path.exists(timings):
    total = sum(float(l.split("\t")[0]) for l in open(timings) if l.strip())
    print(f"Sum of command wall times: {total / 60:.1f} min (jobs ran in parallel; see wall.txt for the total).")
