#!/usr/bin/env python3
"""Summarizes Scripts/reference/results.sh output as Markdown:

0. the verdict: per (task, probe, preset) each claim of the target order with its gap in sd,
   the two negative controls against random init (decoupled: S1 of another landscape in the same
   scenes; shuffled pairs: S1 of another place, reassigned every step), and the flood probes'
   operating point (predicted vs true water share), so a probe that under-predicts water is
   visible next to its IoU;
1. the target table: per (task, probe, preset) the no-learning baseline, random init, SimCLR and
   multimodal as mean ± sample sd over every (init seed × world seed) report, and the gaps
   multimodal − SimCLR, SimCLR − random, random − baseline in pooled sd
   (gap / sqrt((sd_a² + sd_b²) / 2); against a single value, e.g. the baseline of one world, in
   the other side's sd); a gap counts (✓) when it exceeds 2 sd;
2. label efficiency: the U-Net probes at each train fraction;
3. per world: every probe's table;
4. gaps blocked by world: the same claims with the sd taken within each world (the pooled sd of
   1. includes how much the worlds differ from each other, which no method changes), and, when
   OUT/swapped-split/ holds the flood U-Net probes with the tile split swapped
   (Scripts/reference/swap_split.sh), flood scored over both splits (2-fold: each run's IoU is
   the mean of its two folds);
5. the pretraining runs (final loss, in-batch accuracy, wall time);
6. the loss curves: the loss at 1/8, 1/4, 1/2, 3/4 and all of the steps and its change over the
   last quarter and eighth, to show whether more steps would still lower it.

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
    "S": ("shuffled pairs", "world A's data, each S2 window paired with another place's S1 window"),
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


def load(directory=out):
    """{(world, task, input, probe): [report, …]}"""
    data = {}
    for path in sorted(glob.glob(os.path.join(directory, "eval", "*.jsonl"))):
        name = os.path.basename(path)[: -len(".jsonl")]
        world, task, inp, probe = name.split("-")
        data[(world, task, inp, probe)] = [json.loads(l) for l in open(path) if l.strip()]
    return data


def row_of(r, who, fraction):
    """The index of `who`'s result row in report `r` at `fraction`, or None when `r` is not
    `who`'s. The baseline counts once per world: the first random init's report (it does not
    depend on the checkpoint except through its normalization, which is estimated from data
    like every random row's)."""
    if abs(r.get("train_fraction", 1) - fraction) > 1e-9:
        return None
    if who == "baseline":
        return 0 if r["mode"] == "random" and r["checkpoint"] in ("random:1", "random") else None
    return 1 if r["mode"] == who else None


def values(reports, who, metric, fraction=1.0):
    """Metric values of `who` at `fraction` (the baseline once per world)."""
    xs = [r["results"][row][metric] for r in reports if (row := row_of(r, who, fraction)) is not None]
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
    # A single value (the no-learning baseline of one world, which no seed changes) has no sd
    # of its own: measure the gap in the other side's sd rather than halving its variance.
    if len(a) == 1 or len(b) == 1:
        pooled = (va + vb) ** 0.5
    else:
        pooled = ((va + vb) / 2) ** 0.5
    if pooled == 0:
        return d, float("inf") if d > 0 else (float("-inf") if d < 0 else 0.0), "✓" if d > 0 else "✗"
    z = d / pooled
    return d, z, "✓" if z > 2 else "✗"


def blocked_gap(a, b):
    """Like gap(), for {world: [values]} pairs: the mean over worlds of the within-world
    difference of means, in the within-world sd (each world's pooled variance, as gap() pools
    it, averaged over the worlds). None unless both sides have values in at least two worlds."""
    worlds = [w for w in a if a[w] and b.get(w)]
    if len(worlds) < 2:
        return None
    d = st.mean(st.mean(a[w]) - st.mean(b[w]) for w in worlds)
    variances = []
    for w in worlds:
        va = st.variance(a[w]) if len(a[w]) > 1 else 0.0
        vb = st.variance(b[w]) if len(b[w]) > 1 else 0.0
        variances.append(va + vb if len(a[w]) == 1 or len(b[w]) == 1 else (va + vb) / 2)
    pooled = st.mean(variances) ** 0.5
    if pooled == 0:
        return d, float("inf") if d > 0 else (float("-inf") if d < 0 else 0.0), "✓" if d > 0 else "✗"
    z = d / pooled
    return d, z, "✓" if z > 2 else "✗"


def fmt_z(z):
    return "∞" if z == float("inf") else ("−∞" if z == float("-inf") else f"{z:+.1f}")


def fmt_gap(g):
    if g is None:
        return "—"
    d, z, mark = g
    return f"{d:+.3f} ({fmt_z(z)} sd) {mark}"


data = load()
if not data:
    sys.exit("no evaluation reports under " + os.path.join(out, "eval"))
protocol = ""
if os.path.exists(os.path.join(out, "protocol.txt")):
    protocol = open(os.path.join(out, "protocol.txt")).read().strip()
    print(f"Protocol: `{protocol}`")
    print()

groups = [("base", ["A", "B"]), ("heavy-nuisance", ["AH", "BH"]), ("decoupled", ["D"]),
          ("shuffled pairs", ["S"]), ("real chip", ["R"])]
# The negative controls: multimodal runs that must not rise above random init by > 2 sd.
CONTROLS = {
    "decoupled": "Decoupled control (S1 of another landscape in the same scenes: removes the "
                 "pair's pixel content, keeps scene co-occurrence)",
    "shuffled pairs": "Shuffled-pair control (S1 window of another place, reassigned every step: "
                      "removes the pairing)",
}


def preset_reports(keep=lambda key: True):
    """(key, title, metric, preset, reports) for every task in TASKS that `keep` accepts and every
    preset with reports, the reports of the preset's worlds pooled."""
    for key, (title, metric) in TASKS.items():
        if not keep(key):
            continue
        for preset, worlds in groups:
            reports = [r for w in worlds for r in data.get((w,) + key, [])]
            if reports:
                yield key, title, metric, preset, reports


def best_encoder(v):
    """The pretrained method with the higher mean in {who: [values]}, or None without values."""
    pretrained = [w for w in ("simclr", "multimodal") if v[w]]
    return max(pretrained, key=lambda w: st.mean(v[w])) if pretrained else None


def claim(a, b, names):
    """One verdict cell: mark, gap in sd and the two means."""
    g = gap(a, b)
    if g is None:
        return "—"
    d, z, mark = g
    zs = fmt_z(z).replace("-", "−")
    text = f"{mark} {zs} sd ({names}{st.mean(a):.3f} vs {st.mean(b):.3f})"
    return f"**{text}**" if mark == "✓" else text


def water_share(reports, who):
    """Mean predicted and true water share of `who`'s reports at fraction 1 (confusion rows are
    the truth, columns the prediction; class 1 is water)."""
    pred, true = [], []
    for r in reports:
        if (row := row_of(r, who, 1.0)) is not None:
            cm = r["results"][row]["confusion_matrix"]
            total = sum(map(sum, cm))
            pred.append((cm[0][1] + cm[1][1]) / total)
            true.append(sum(cm[1]) / total)
    return (st.mean(pred), st.mean(true)) if pred else None


# 0. Verdict.
print("### Verdict (each claim of the target order; ✓ when the gap exceeds 2 pooled sd)")
print()
print("| task | preset (n) | multimodal > SimCLR | SimCLR > random init | random init > no learning | "
      "best encoder > no learning |")
print("|---|---|---|---|---|---|")
controls = []
for key, title, metric, preset, reports in preset_reports():
    v = {who: values(reports, who, metric) for who in ORDER}
    n = max(len(v["multimodal"]), len(v["random"]))
    if preset in CONTROLS:
        g = gap(v["multimodal"], v["random"])
        if g is not None:
            holds = "holds" if g[1] <= 2 else "FAILS: above random init"
            controls.append(
                f"{CONTROLS[preset]}, {title}: multimodal − random init {fmt_gap(g)[:-2]} "
                f"({st.mean(v['multimodal']):.3f} vs {st.mean(v['random']):.3f}; {holds})")
        continue
    best = best_encoder(v)
    print(
        f"| {title} | {preset} ({n}) | {claim(v['multimodal'], v['simclr'], '')} | "
        f"{claim(v['simclr'], v['random'], '')} | {claim(v['random'], v['baseline'], '')} | "
        + (claim(v[best], v["baseline"], LABEL[best] + " ") if best else "—")
        + " |"
    )
print()
for line in controls:
    print(f"{line}. Target: not above random init by > 2 sd.")
    print()
shares = []
for key, title, metric, preset, reports in preset_reports(lambda key: key[0] == "flood"):
    cells = {who: water_share(reports, who) for who in ORDER}
    if not any(cells.values()):
        continue
    true = next(c[1] for c in cells.values() if c)
    shares.append(
        f"| {title} | {preset} | {true:.3f} | "
        + " | ".join(f"{cells[w][0]:.3f}" if cells[w] else "—" for w in ORDER)
        + " |"
    )
if shares:
    print("Flood probes' operating point at fraction 1 (share of test pixels predicted water, mean):")
    print()
    print("| task | preset | true | " + " | ".join(LABEL[w] for w in ORDER) + " |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(shares))
    print()

# 1. Target table.
print("### Summary (mean ± sd over init seeds × world seeds; gaps in pooled sd, ✓ when > 2 sd)")
print()
print("| task (metric) | preset | n | no learning | random init | SimCLR | multimodal | "
      "multimodal − SimCLR | SimCLR − random | random − no learning | multimodal − random |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for key, title, metric, preset, reports in preset_reports():
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
for key, title, metric, preset, reports in preset_reports(lambda key: key[2] == "unet"):
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

# 4. Gaps blocked by world, and flood over both tile splits.
def checkpoint_id(r):
    return os.path.basename(str(r.get("checkpoint", "")).rstrip("/"))


def world_values(source, worlds, key, who, metric, fraction=1.0):
    """{world: [values]} of `who` in `source`'s reports of `key`."""
    return {w: values(source.get((w,) + key, []), who, metric, fraction) for w in worlds}


def two_fold(worlds, key, who, metric, fraction):
    """{world: [values]}: each run's (checkpoint's) metric averaged over the two tile splits;
    runs scored on one split only are left out."""
    result = {}
    for w in worlds:
        folds = []
        for source in (data, swapped):
            by_run = {}
            for r in source.get((w,) + key, []):
                if (row := row_of(r, who, fraction)) is not None:
                    x = r["results"][row][metric]
                    if x is not None:
                        by_run["baseline" if who == "baseline" else checkpoint_id(r)] = x
            folds.append(by_run)
        result[w] = [(folds[0][k] + folds[1][k]) / 2 for k in sorted(folds[0]) if k in folds[1]]
    return result


def claim_cells(v, gapper):
    """The four claims of the verdict for {who: {world: [values]}} with `gapper`."""
    def cell(a, b, names=""):
        g = gapper(v[a], v[b])
        if g is None:
            return "—"
        d, z, mark = g
        text = f"{mark} {fmt_z(z)} sd ({names}{d:+.3f})".replace("-", "−")
        return f"**{text}**" if mark == "✓" else text

    best = best_encoder({who: [x for xs in v[who].values() for x in xs] for who in ORDER})
    return [cell("multimodal", "simclr"), cell("simclr", "random"), cell("random", "baseline"),
            cell(best, "baseline", LABEL[best] + " ") if best else "—"]


# Presets with reports from at least two worlds (a quick run has one world per preset: nothing
# to block, and the 2-fold table then shows pooled gaps only).
present = [(preset, [w for w in worlds if any(k[0] == w for k in data)]) for preset, worlds in groups]
multi_world = [(preset, worlds) for preset, worlds in present if len(worlds) > 1]
if multi_world:
    print("### Gaps blocked by world (sd within each world; ✓ when the gap exceeds 2 of them)")
    print()
    print("The summary's pooled sd also holds how far the worlds differ from each other, which "
          "moves every method alike. Here each claim is the mean over "
          "worlds of the within-world difference, measured in the within-world sd: what the method "
          "changes, with the world held fixed. The verdict above stays the rule; this says which ✗ "
          "are the worlds' spread rather than the methods'.")
    print()
    print("| task | preset (n) | multimodal > SimCLR | SimCLR > random init | random init > no learning | "
          "best encoder > no learning |")
    print("|---|---|---|---|---|---|")
    for key, (title, metric) in TASKS.items():
        for preset, worlds in multi_world:
            if not any(data.get((w,) + key) for w in worlds):
                continue
            v = {who: world_values(data, worlds, key, who, metric) for who in ORDER}
            n = max(sum(map(len, v["multimodal"].values())), sum(map(len, v["random"].values())))
            print(f"| {title} | {preset} ({n}) | " + " | ".join(claim_cells(v, blocked_gap)) + " |")
    print()

swapped = load(os.path.join(out, "swapped-split")) if os.path.isdir(
    os.path.join(out, "swapped-split", "eval")) else {}
flood_key = ("flood", "s1", "unet")
if any(k[1:] == flood_key for k in swapped):
    title, metric = TASKS[flood_key]
    print("### Flood over both tile splits (2-fold)")
    print()
    print("Each run's water IoU averaged over the reported split and the swapped one (probe-train "
          "and test tiles exchanged: Scripts/reference/swap_split.sh), so every flood tile is test "
          "data once. Gaps in pooled sd (as the summary) and blocked by world.")
    print()
    print("| preset | fraction | n | no learning | random init | SimCLR | multimodal | "
          "multimodal > SimCLR | SimCLR > random init | random init > no learning | "
          "best encoder > no learning |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    fractions = sorted({r.get("train_fraction", 1) for k, rs in swapped.items()
                        if k[1:] == flood_key for r in rs})
    for preset, worlds in present:
        for f in fractions:
            v = {who: two_fold(worlds, flood_key, who, metric, f) for who in ORDER}
            if not any(v["multimodal"].values()):
                continue
            flat = {who: [x for xs in v[who].values() for x in xs] for who in ORDER}
            pooled = claim_cells({who: {"all": flat[who]} for who in ORDER},
                                 lambda a, b: gap(a["all"], b["all"]))
            blocked = claim_cells(v, blocked_gap)
            n = max(len(flat["multimodal"]), len(flat["random"]))
            print(f"| {preset} | {f:g} | {n} | " + " | ".join(ms(flat[w]) for w in ORDER) + " | "
                  + " | ".join(f"pooled {p}; blocked {b}" for p, b in zip(pooled, blocked)) + " |")
    print()

# 5. Pretraining runs.
runs = sorted(glob.glob(os.path.join(out, "runs", "*", "summary.json")))


def read_metrics(run):
    """The run's metrics.jsonl lines (one per step), or [] when it cannot be read."""
    try:
        return [json.loads(x) for x in open(os.path.join(run, "metrics.jsonl")) if x.strip()]
    except OSError:
        return []


metrics = {os.path.dirname(path): read_metrics(os.path.dirname(path)) for path in runs}
if runs:
    print("### Pretraining runs")
    print()
    print("| run | steps | wall s | pairs/s | final loss | loss, mean of last 50 steps | in-batch acc, last 50 |")
    print("|---|---|---|---|---|---|---|")
    for path in runs:
        s = json.load(open(path))
        run = os.path.dirname(path)
        lines = metrics[run]
        losses = [l.get("loss") for l in lines[-50:] if l.get("loss") is not None]
        accs = [l.get("accuracy") for l in lines[-50:] if l.get("accuracy") is not None]
        print(
            f"| {os.path.basename(run)} | {s.get('steps')} | {s.get('wallSeconds', 0):.0f} | "
            f"{s.get('pairsPerSecond', 0):.1f} | {s.get('finalLoss', float('nan')):.3f} | "
            f"{st.mean(losses):.3f} | {st.mean(accs):.3f} |" if losses and accs else
            f"| {os.path.basename(run)} | {s.get('steps')} | — | — | — | — | — |"
        )
    print()

# 6. Loss curves: is the loss still falling at the end of the budget?
curves = {}
for path in runs:
    run = os.path.dirname(path)
    world, mode, modality = os.path.basename(run).split("-")[:3]
    preset = WORLDS.get(world, (world,))[0]
    losses = [l["loss"] for l in metrics[run] if l.get("loss") is not None]
    if len(losses) >= 400:
        curves.setdefault((preset, f"{mode} {modality}"), []).append(losses)
if curves:
    total = min(len(c) for cs in curves.values() for c in cs)
    marks = [total // 8, total // 4, total // 2, 3 * total // 4, total]
    print("### Loss curves (mean loss over the 50 steps before each step, mean over runs)")
    print()
    print("The learning rate follows a cosine to zero over the run, so the curve flattens at the "
          "end of any budget; compare the final loss of runs with different budgets, not the last "
          "eighth alone.")
    print()
    print("| preset | runs | n | " + " | ".join(f"step {m}" for m in marks)
          + " | last quarter | last eighth |")
    print("|---|---|---|" + "---|" * (len(marks) + 2))
    for (preset, what), cs in sorted(curves.items()):
        at = [st.mean(st.mean(c[m - 50 : m]) for c in cs) for m in marks]
        eighth = st.mean(st.mean(c[7 * total // 8 - 50 : 7 * total // 8]) for c in cs)
        print(f"| {preset} | {what} | {len(cs)} | " + " | ".join(f"{x:.3f}" for x in at)
              + f" | {(at[-1] - at[-2]) / at[-2] * 100:+.1f} % | {(at[-1] - eighth) / eighth * 100:+.1f} % |"
              .replace("-", "−"))
    print()

timings = os.path.join(out, "timings.tsv")
if os.path.exists(timings):
    total = sum(float(l.split("\t")[0]) for l in open(timings) if l.strip())
    print(f"Sum of command wall times: {total / 60:.1f} min (jobs ran in parallel; see wall.txt for the total).")
