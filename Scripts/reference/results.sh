#!/usr/bin/env bash
# The comparison of Docs/RESULTS.md: random init vs SimCLR vs multimodal on generated fixture
# worlds (two world seeds of the base preset and the decoupled preset as a negative control).
# Phases (each skips what is already done, so an interrupted run continues):
#   worlds  generate the worlds (8 tiles × 1024², 3 dates, flood; 4 pretrain, 2 probe-train,
#           2 test tiles: 512 distinct 64 px test locations per world)
#   train   tandem-tiny, 64 px, batch 64, 200 steps, seeds 1–3: multimodal, SimCLR-S2, SimCLR-S1
#           (pretrain tiles only; decoupled world: multimodal only); two runs at a time with one
#           BLAS thread each
#   eval    one `tandem eval` per (world, task, input, probe) over every compatible checkpoint
#           and random init seeds 1–3, windows read once per command
#   budget  world B, seed 1: multimodal and SimCLR-S2 for 600 steps, land-cover probe
#   table   mean ± std per configuration (Scripts/reference/results_table.py)
# Usage: Scripts/reference/results.sh OUT [PHASE…] (default: all phases)
# Environment: TANDEM=path/to/tandem (default: the release build), TANDEM_ROOT=repository root
set -euo pipefail
out=${1:?usage: results.sh OUT [worlds|train|eval|budget|table]…}
shift
phases=${*:-worlds train eval budget table}
root=${TANDEM_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${TANDEM:-$root/.build/release/tandem}
mkdir -p "$out/logs" "$out/eval"
seeds="1 2 3"
worlds="A B D"
world_args() { # NAME → fixtures arguments
  case $1 in
    A) echo "--seed 42 --preset base" ;;
    B) echo "--seed 7 --preset base" ;;
    D) echo "--seed 42 --preset decoupled" ;;
  esac
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

if [[ $phases == *worlds* ]]; then
  for w in $worlds; do
    [[ -e $out/world$w/catalog.json ]] && continue
    # shellcheck disable=SC2046
    timed "$out/logs/world$w.log" "$bin" fixtures --out "$out/world$w" --tiles 8 --size 1024 \
      --dates 3 --flood $(world_args "$w") --quiet
  done
fi

train_one() { # WORLD MODE MODALITY SEED [STEPS]: runs/WORLD[STEPS]-MODE-MODALITY-sSEED
  local w=$1 mode=$2 modality=$3 seed=$4 steps=${5:-200}
  local name=$w
  [[ $steps != 200 ]] && name=$w$steps
  local run=$out/runs/$name-$mode-$modality-s$seed
  [[ -e $run/summary.json ]] && return 0
  rm -rf "$run"
  timed "$out/logs/train-$name-$mode-$modality-s$seed.log" "$bin" train \
    --catalog "$out/world$w/catalog.json" --where tandem:role=pretrain --model tiny --size 64 \
    --batch 64 --steps "$steps" --warmup 20 --blas-threads 1 --decode-threads 1 --seed "$seed" \
    --mode "$mode" --modality "$modality" --out "$run" --quiet
}

if [[ $phases == *train* ]]; then
  mkdir -p "$out/runs"
  # World A first, then the decoupled control (multimodal only: it is compared with random
  # init), then the second world seed (multimodal and SimCLR-S2: the land-cover comparison).
  jobs_list=()
  for seed in $seeds; do jobs_list+=("A multimodal s2 $seed" "A simclr s2 $seed" "A simclr s1 $seed"); done
  for seed in $seeds; do jobs_list+=("D multimodal s2 $seed"); done
  for seed in $seeds; do jobs_list+=("B multimodal s2 $seed" "B simclr s2 $seed"); done
  # Two at a time (one BLAS thread each): this machine has two cores.
  for ((i = 0; i < ${#jobs_list[@]}; i += 2)); do
    # shellcheck disable=SC2086
    train_one ${jobs_list[i]} &
    if ((i + 1 < ${#jobs_list[@]})); then
      # shellcheck disable=SC2086
      train_one ${jobs_list[i + 1]} &
    fi
    wait
  done
fi

evaluate() { # WORLD TASK INPUT PROBE CHECKPOINT-GLOB…  (WORLD R: the real Sen1Floods11 chip)
  local w=$1 task=$2 input=$3 probe=$4 catalog
  shift 4
  catalog=$out/world${w:0:1}/catalog.json # B600: world B
  [[ $w == R ]] && catalog=$root/Catalogs/real/catalog.json
  local name=$w-$task-${input/+/}-$probe
  [[ -s $out/eval/$name.jsonl ]] && return 0
  local args=()
  for pattern in "$@"; do
    for run in $out/runs/$pattern; do [[ -e $run/summary.json ]] && args+=(--checkpoint "$run"); done
  done
  for seed in $seeds; do args+=(--checkpoint "random:$seed"); done
  timed "$out/logs/eval-$name.log" "$bin" eval "${args[@]}" --model tiny --size 64 \
    --task "$task" --modality "$input" --probe "$probe" --catalog "$catalog" \
    --json --no-save
  grep '^{' "$out/logs/eval-$name.log" >"$out/eval/$name.jsonl.tmp"
  mv "$out/eval/$name.jsonl.tmp" "$out/eval/$name.jsonl"
}

if [[ $phases == *eval* ]]; then
  evaluate A landcover s2 linear "A-multimodal-*" "A-simclr-s2-*"
  evaluate A landcover s1 linear "A-multimodal-*" "A-simclr-s1-*"
  evaluate A flood s1 head "A-multimodal-*" "A-simclr-s1-*"
  evaluate A flood s1+s2 head "A-multimodal-*"
  evaluate D landcover s2 linear "D-multimodal-*"
  evaluate B landcover s2 linear "B-multimodal-*" "B-simclr-s2-*"
  # Real data: S1 encoders pretrained on world A, applied to the Sen1Floods11 chip (S1 in dB).
  evaluate R flood s1 head "A-multimodal-*" "A-simclr-s1-*"
fi

# Training budget check: world B, seed 1, 600 instead of 200 steps (multimodal and SimCLR-S2).
if [[ $phases == *budget* ]]; then
  mkdir -p "$out/runs"
  train_one B multimodal s2 1 600 &
  train_one B simclr s2 1 600 &
  wait
  evaluate B600 landcover s2 linear "B600-multimodal-*" "B600-simclr-s2-*"
fi

if [[ $phases == *table* ]]; then
  /usr/bin/python3 "$root/Scripts/reference/results_table.py" "$out" | tee "$out/table.md"
fi
