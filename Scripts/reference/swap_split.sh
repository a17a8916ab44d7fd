#!/usr/bin/env bash
# The flood check of Docs/RESULTS.md: re-evaluates a results.sh run's flood U-Net probes with the
# probe-train and test tiles of each world swapped (t06–t07 fit the probe, t04–t05 score it), to
# tell what the encoders do from what the tile split does. The checkpoints are not retrained.
#
# Usage: Scripts/reference/swap_split.sh RUN_OUT OUT [WORLD…]   (default worlds: A B AH BH)
#   RUN_OUT  a finished `results.sh` output directory (its worlds and runs are read, not changed)
#   OUT      where the swapped catalogs (hard links to RUN_OUT's TIFFs), eval/*.jsonl and
#            table.md go; worlds already swapped or evaluated there are skipped (rerun-safe)
# Environment: TANDEM=path/to/tandem (default: the release build), JOBS=N (default 2),
#   CLASS_WEIGHTS (default balanced, as results.sh).
set -euo pipefail
run=${1:?usage: swap_split.sh RUN_OUT OUT [WORLD…]}
out=${2:?usage: swap_split.sh RUN_OUT OUT [WORLD…]}
shift 2
worlds=${*:-A B AH BH}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${TANDEM:-$root/.build/release/tandem}
jobs=${JOBS:-2}
class_weights=${CLASS_WEIGHTS:-balanced}
[[ -d $run/runs ]] || { echo "swap_split: $run has no runs/ (not a results.sh output)" >&2; exit 1; }
mkdir -p "$out/eval" "$out/logs"
read -r fractions < <(sed -n 's/.*fractions=\([^ ]*\).*/\1/p' "$run/protocol.txt")
# The run's model and window size (protocol files before they were recorded: tiny, 64 px).
read -r model < <(sed -n 's/.* model=\([^ ]*\).*/\1/p' "$run/protocol.txt") || true
read -r window < <(sed -n 's/.* window=\([^ ]*\).*/\1/p' "$run/protocol.txt") || true
model=${model:-tiny} window=${window:-64}
printf '%s\n' "$(cat "$run/protocol.txt") (flood U-Net re-evaluated with probe-train and test tiles swapped: Scripts/reference/swap_split.sh)" \
  >"$out/protocol.txt"

swap_world() { # W: copy world W with the two roles exchanged (TIFFs hard-linked, JSON rewritten)
  local src=$run/world$1 dst=$out/world$1
  [[ -d $dst ]] && return 0 # done by an earlier, interrupted call
  [[ -d $src ]] || { echo "swap_split: $src missing" >&2; return 1; }
  rm -rf "$dst.tmp"
  cp -al "$src" "$dst.tmp"
  /usr/bin/python3 - "$dst.tmp" <<'EOF'
import os, pathlib, sys
swap = {'"probe-train"': '"test"', '"test"': '"probe-train"'}
for path in pathlib.Path(sys.argv[1]).rglob("*.json"):
    text = path.read_text()
    new = text.replace('"probe-train"', "\0").replace('"test"', '"probe-train"').replace("\0", '"test"')
    if new != text:
        path.unlink()  # a hard link to the source world: write a new file instead
        path.write_text(new)
EOF
  rm -rf "$dst"
  mv "$dst.tmp" "$dst"
}

evaluate() { # W
  local w=$1 args=()
  [[ -s $out/eval/$w-flood-s1-unet.jsonl ]] && return 0 # done by an earlier call
  for r in "$run"/runs/"$w"-multimodal-* "$run"/runs/"$w"-simclr-s1-*; do args+=(--checkpoint "$r"); done
  for s in $(ls -d "$run"/runs/"$w"-multimodal-* | sed 's/.*-s//'); do args+=(--checkpoint "random:$s"); done
  "$bin" eval "${args[@]}" --model "$model" --size "$window" --task flood --modality s1 --probe unet \
    --train-fraction "$fractions" --class-weights "$class_weights" \
    --catalog "$out/world$w/catalog.json" --blas-threads 1 --json --no-save \
    >"$out/eval/$w-flood-s1-unet.jsonl.tmp" 2>"$out/logs/eval-$w.log"
  mv "$out/eval/$w-flood-s1-unet.jsonl.tmp" "$out/eval/$w-flood-s1-unet.jsonl"
}

started=$(date +%s)
for w in $worlds; do swap_world "$w"; done
pids=()
for w in $worlds; do
  evaluate "$w" &
  pids+=($!)
  if ((${#pids[@]} >= jobs)); then
    wait "${pids[0]}"
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p"; done
/usr/bin/python3 "$root/Scripts/reference/results_table.py" "$out" | tee "$out/table.md"
echo "swap_split: $(($(date +%s) - started)) s wall"
