#!/usr/bin/env bash
# Small comparison on the bundled fixture world (Docs/EVALUATION.md, "Comparison"): tandem-tiny
# encoders pretrained 300 steps × batch 32 at 32 px (multimodal and SimCLR-S2, seeds 1–3) and
# random init (seeds 0–2), probed with `tandem eval` at 32 px. Writes one JSON report per
# (checkpoint, task, modality) and a summary table under OUT.
# Usage: Scripts/reference/eval-compare.sh OUT [path/to/tandem]
set -euo pipefail
out=${1:?usage: eval-compare.sh OUT [tandem]}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${2:-$root/.build/debug/tandem}
catalog=$root/Catalogs/fixture-world/catalog.json
mkdir -p "$out"

evaluate() { # CHECKPOINT NAME [extra eval args]
  local ck=$1 name=$2
  shift 2
  for spec in landcover:s2 landcover:s1 flood:s1; do
    local task=${spec%:*} mod=${spec#*:}
    "$bin" eval --checkpoint "$ck" --task "$task" --modality "$mod" --catalog "$catalog" \
      --size 32 --json -q "$@" >"$out/$name-$task-$mod.json" 2>"$out/$name-$task-$mod.err" || true
  done
}

for seed in 1 2 3; do
  for mode in multimodal simclr; do
    run=$out/$mode-s$seed
    [[ -e $run/latest ]] || "$bin" train --catalog "$catalog" --model tiny --size 32 --batch 32 \
      --steps 300 --warmup 20 --blas-threads 1 --seed "$seed" --mode "$mode" --modality s2 \
      --out "$run" --quiet
    evaluate "$run" "$mode$seed"
  done
done
for seed in 0 1 2; do evaluate random "random$seed" --model tiny --seed "$seed"; done

/usr/bin/python3 - "$out" <<'PY'
import json, glob, os, statistics as st, sys
rows = {}
for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    name, task, mod = os.path.basename(f)[:-5].rsplit("-", 2)
    try:
        d = json.load(open(f))
    except ValueError:
        continue  # e.g. SimCLR-S2 has no S1 encoder
    for i, r in enumerate(d["results"]):
        key = (task, mod, "baseline" if i == 0 else name.rstrip("0123456789"))
        rows.setdefault(key, []).append(r)
def ms(v, k):
    xs = [r[k] for r in v]
    return f"{st.mean(xs):.3f}" + (f" ± {st.stdev(xs):.3f}" if len(xs) > 1 else "")
# baseline rows pool every report (they vary only with the normalization and the pixel draw)
print("| task | input | features | n | OA | balanced acc | water IoU |")
print("|---|---|---|---|---|---|---|")
for (task, mod, who), v in sorted(rows.items()):
    print(f"| {task} | {mod} | {who} | {len(v)} | {ms(v, 'overall_accuracy')} | "
          f"{ms(v, 'balanced_accuracy')} | {ms(v, 'water_iou')} |")
PY
