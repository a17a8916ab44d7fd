#!/usr/bin/env bash
# The comparison of Docs/RESULTS.md, in one command: raw band statistics vs random init vs
# SimCLR vs multimodal (S1/S2 pairs) on generated version-2 fixture worlds (two world seeds of
# the base and heavy-nuisance presets; two negative controls: the decoupled preset and shuffled
# pairs) and the real Sen1Floods11 chip. Prints the total wall time at the end.
#
# Phases (each skips what is already done, so an interrupted run continues):
#   worlds  `tandem fixtures --world-version 2`: A = base seed 42, B = base seed 7,
#           AH = heavy-nuisance seed 42, BH = heavy-nuisance seed 7, D = decoupled seed 42;
#           S (shuffled pairs) trains on world A's catalog
#   train   tandem-tiny, 64 px, batch 64, 2000 steps, seeds 1–3: multimodal, SimCLR-S2, SimCLR-S1
#           on A, B, AH, BH; multimodal on D; multimodal with --pairing shuffled on S (each S2
#           window's positive is another place's S1 window); pretrain tiles only; two runs at a
#           time, one BLAS thread each. 2000 steps: the loss still falls from 1000 to 2000
#           (RESULTS.md, Budget)
#   eval    one `tandem eval` per (world, task, input, probe) over every compatible checkpoint
#           and random init seeds 1–3 (windows read once per command): land cover (S2, S1)
#           with the linear probe, per-pixel land cover (S2) and flood (S1) with the U-Net probe
#           at train fractions 0.01, 0.1, 1, flood (S1) with the linear probe; D and S: land
#           cover S2 (linear and U-Net);
#           R: the Sen1Floods11 chip with the S1 encoders of world A (when A is run)
#   swap    Scripts/reference/swap_split.sh: the flood U-Net probes again with each world's
#           probe-train and test tiles swapped (OUT/swapped-split/table.md), the check of
#           RESULTS.md's flood rows
#   table   Scripts/reference/results_table.py (mean ± sd, gaps in pooled and within-world sd,
#           label efficiency, flood over both splits once swap has run); runs after swap
#
# Usage: Scripts/reference/results.sh [--quick] OUT [PHASE…]   (default: all phases)
#   --quick  same code paths at a smaller size (< 20 min on 2 cores): 4 tiles of 512 px, worlds
#            A, AH, D and S only, 2 seeds, 300 steps, fractions 0.1 and 1. Indicative only.
# Environment: TANDEM=path/to/tandem (default: the release build), TANDEM_ROOT=repository root,
#   JOBS=N parallel jobs (default 2); for smaller experiments STEPS=N, SEEDS="1 2", WORLDS="A AH D"
#   and FRACTIONS=0.1,1 override the mode's values (the table says what ran: OUT/protocol.txt);
#   CLASS_WEIGHTS=balanced (the default) weights the U-Net probes' cross-entropy by inverse class
#   frequency, as the linear probes weight their samples; CLASS_WEIGHTS=none is the plain
#   cross-entropy of the earlier 2026-12-06 full and medium runs, whose flood probe
#   under-predicts water (RESULTS.md).
set -euo pipefail
quick=0
if [[ ${1:-} == --quick ]]; then
  quick=1
  shift
fi
out=${1:?usage: results.sh [--quick] OUT [worlds|train|eval|swap|table]…}
shift
phases=${*:-worlds train eval swap table}
root=${TANDEM_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${TANDEM:-$root/.build/release/tandem}
jobs=${JOBS:-2}
if ((quick)); then
  tiles=4 size=512 steps=${STEPS:-300} warmup=30 seeds=${SEEDS:-1 2} worlds=${WORLDS:-A AH D S}
  fractions=${FRACTIONS:-0.1,1}
else
  tiles=8 size=1024 steps=${STEPS:-2000} warmup=50 seeds=${SEEDS:-1 2 3}
  worlds=${WORLDS:-A B AH BH D S} fractions=${FRACTIONS:-0.01,0.1,1}
fi
class_weights=${CLASS_WEIGHTS:-balanced}
model=tiny window=64 # pretraining and probes; swap_split.sh reads both from protocol.txt
mkdir -p "$out/logs" "$out/eval" "$out/runs"
printf '%s\n' "mode=$([[ $quick == 1 ]] && echo quick || echo full) tiles=$tiles size=$size steps=$steps seeds=$seeds worlds=$worlds fractions=$fractions class_weights=$class_weights model=$model window=$window" \
  >"$out/protocol.txt"
started=$(date +%s)
world_args() { # NAME → fixtures arguments
  case $1 in
    A) echo "--seed 42 --preset base" ;;
    B) echo "--seed 7 --preset base" ;;
    AH) echo "--seed 42 --preset heavy-nuisance" ;;
    BH) echo "--seed 7 --preset heavy-nuisance" ;;
    D) echo "--seed 42 --preset decoupled" ;;
  esac
}
data_world() { # NAME → the world whose catalog it reads (S: world A's, with shuffled pairs)
  if [[ $1 == S ]]; then echo A; else echo "$1"; fi
}
is_control() { # NAME: a negative control (multimodal only, land cover S2 only, no swap)
  [[ $1 == D || $1 == S ]]
}
timed() { # LOG command… : runs the command, appends "seconds command" to OUT/timings.tsv
  local log=$1 start end
  shift
  start=$(date +%s%N)
  "$@" >"$log" 2>&1
  end=$(date +%s%N)
  printf '%d.%d\t%s\n' $(((end - start) / 1000000000)) $(((end - start) / 100000000 % 10)) "$*" \
    >>"$out/timings.tsv"
}
pool() { # runs the function named $1 on each remaining argument (a quoted job: words, split
  # without glob expansion), $jobs at a time; a failed job is reported, the others go on
  local fn=$1 job parts
  shift
  for job in "$@"; do
    while (($(jobs -rp | wc -l) >= jobs)); do wait -n || true; done
    read -ra parts <<<"$job"
    ("$fn" "${parts[@]}" || echo "results.sh: FAILED: $fn $job (see $out/logs)" >&2) &
  done
  wait
}

make_world() { # NAME
  local w
  w=$(data_world "$1")
  [[ -e $out/world$w/catalog.json ]] && return 0
  # shellcheck disable=SC2046
  timed "$out/logs/world$w.log" "$bin" fixtures --out "$out/world$w" --tiles "$tiles" \
    --size "$size" --dates 3 --flood --world-version 2 $(world_args "$w") --quiet
}

if [[ $phases == *worlds* ]]; then
  # shellcheck disable=SC2046
  pool make_world $(for w in $worlds; do data_world "$w"; done | sort -u)
fi

train_one() { # WORLD MODE MODALITY SEED: runs/WORLD-MODE-MODALITY-sSEED
  local w=$1 mode=$2 modality=$3 seed=$4
  local run=$out/runs/$w-$mode-$modality-s$seed pairing=aligned
  [[ $w == S ]] && pairing=shuffled
  [[ -e $run/summary.json ]] && return 0
  rm -rf "$run"
  timed "$out/logs/train-$w-$mode-$modality-s$seed.log" "$bin" train \
    --catalog "$out/world$(data_world "$w")/catalog.json" --where tandem:role=pretrain \
    --pairing "$pairing" --model "$model" --size "$window" \
    --batch 64 --steps "$steps" --warmup "$warmup" --blas-threads 1 --decode-threads 1 \
    --seed "$seed" --mode "$mode" --modality "$modality" --out "$run" --quiet
}

if [[ $phases == *train* ]]; then
  jobs_list=()
  for w in $worlds; do
    for seed in $seeds; do
      if is_control "$w"; then
        jobs_list+=("$w multimodal s2 $seed")
      else
        jobs_list+=("$w multimodal s2 $seed" "$w simclr s2 $seed" "$w simclr s1 $seed")
      fi
    done
  done
  pool train_one "${jobs_list[@]}"
fi

evaluate() { # WORLD TASK INPUT PROBE FRACTIONS CHECKPOINT-GLOB…  (WORLD R: the real chip)
  local w=$1 task=$2 input=$3 probe=$4 fraction=$5 catalog
  shift 5
  catalog=$out/world$(data_world "$w")/catalog.json
  [[ $w == R ]] && catalog=$root/Catalogs/real/catalog.json
  local name=$w-$task-${input/+/}-$probe
  [[ -s $out/eval/$name.jsonl ]] && return 0
  local args=() run pattern seed
  for pattern in "$@"; do
    for run in $out/runs/$pattern; do [[ -e $run/summary.json ]] && args+=(--checkpoint "$run"); done
  done
  for seed in $seeds; do args+=(--checkpoint "random:$seed"); done
  timed "$out/logs/eval-$name.log" "$bin" eval "${args[@]}" --model "$model" --size "$window" \
    --task "$task" --modality "$input" --probe "$probe" --train-fraction "$fraction" \
    --class-weights "$class_weights" \
    --catalog "$catalog" --blas-threads 1 --json --no-save
  grep '^{' "$out/logs/eval-$name.log" >"$out/eval/$name.jsonl.tmp"
  mv "$out/eval/$name.jsonl.tmp" "$out/eval/$name.jsonl"
}

if [[ $phases == *eval* ]]; then
  eval_list=()
  for w in $worlds; do
    if is_control "$w"; then
      eval_list+=("$w landcover s2 linear 1 $w-multimodal-*" "$w landcover s2 unet $fractions $w-multimodal-*")
      continue
    fi
    # The expensive U-Net evaluations first, so the pool stays full.
    eval_list+=(
      "$w landcover s2 unet $fractions $w-multimodal-* $w-simclr-s2-*"
      "$w flood s1 unet $fractions $w-multimodal-* $w-simclr-s1-*"
      "$w landcover s2 linear 1 $w-multimodal-* $w-simclr-s2-*"
      "$w landcover s1 linear 1 $w-multimodal-* $w-simclr-s1-*"
      "$w flood s1 linear 1 $w-multimodal-* $w-simclr-s1-*"
    )
  done
  # Real data: S1 encoders pretrained on world A, applied to the Sen1Floods11 chip (S1 in dB).
  if [[ " $worlds " == *" A "* ]]; then
    eval_list+=("R flood s1 unet 1 A-multimodal-* A-simclr-s1-*" "R flood s1 linear 1 A-multimodal-* A-simclr-s1-*")
  fi
  pool evaluate "${eval_list[@]}"
fi

if [[ $phases == *swap* ]]; then
  swap_worlds=()
  for w in $worlds; do is_control "$w" || swap_worlds+=("$w"); done
  TANDEM=$bin JOBS=$jobs CLASS_WEIGHTS=$class_weights \
    "$root/Scripts/reference/swap_split.sh" "$out" "$out/swapped-split" "${swap_worlds[@]}" \
    >"$out/logs/swap-split.log"
  echo "results.sh: flood with the split swapped: $out/swapped-split/table.md"
fi
# The table last: it scores flood over both tile splits when the swap phase has run.
if [[ $phases == *table* ]]; then
  /usr/bin/python3 "$root/Scripts/reference/results_table.py" "$out" | tee "$out/table.md"
  shopt -s nullglob
  curves=("$out"/runs/A-* "$out"/runs/D-* "$out"/runs/S-*)
  shopt -u nullglob
  ((${#curves[@]} == 0)) || "$bin" report "${curves[@]}" --out "$out/curves.svg" --title \
    "Pretraining curves, world A (base), D (decoupled) and S (shuffled pairs)" --quiet >/dev/null || true
fi
elapsed=$(($(date +%s) - started))
printf 'results.sh: phases "%s" took %d min %02d s wall\n' "$phases" $((elapsed / 60)) $((elapsed % 60)) |
  tee -a "$out/wall.txt"
