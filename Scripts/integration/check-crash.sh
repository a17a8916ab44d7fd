#!/usr/bin/env bash
# Crash safety: `kill -9` at random points of `tandem train` (tiny model, frequent checkpoints)
# and of cache writes (`tandem fetch` through the tile cache), in a loop. After every kill the
# `latest` pointer and the checkpoint it names must load (state.json parses, both safetensors
# files are complete), and the next run resumes (or restarts, when killed before config.json)
# until it finishes with weights bit-identical to an uninterrupted run. The cache must verify
# clean after every kill (entries are renamed into place whole), serve exactly the file's bytes,
# and detect entries damaged on purpose (deleted and refetched, never served).
# Usage: check-crash.sh [WORK]   TANDEM_CRASH_KILLS=N (default 5) kills per phase.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${1:-$(mktemp -d)}
T=$(mktemp -d "$WORK/crash.XXXXXX")
TANDEM=${TANDEM_BIN:-$ROOT/.build/debug/tandem}
KILLS=${TANDEM_CRASH_KILLS:-5}
SEED=${TANDEM_CRASH_SEED:-$RANDOM}
RANDOM=$SEED
SERVER=""
cleanup() { [[ -n "$SERVER" ]] && kill "$SERVER" 2>/dev/null || true; }
trap cleanup EXIT
echo "crash: $KILLS kills per phase, seed $SEED"

CATALOG="$ROOT/Catalogs/fixture-world/catalog.json"
TRAIN=(train --catalog "$CATALOG" --model tiny --size 32 --batch 4 --steps 16 --warmup 2
  --blas-threads 1 --decode-threads 1 --seed 7 --checkpoint-every 2 --quiet)

check_run() { # RUN: latest and the checkpoint it names load
  python3 - "$1" <<'PY'
import json, os, struct, sys
run = sys.argv[1]
latest = os.path.join(run, "latest")
if not os.path.exists(latest):
    print("  no checkpoint yet"); sys.exit(0)
name = open(latest).read().strip()
assert name.startswith("step-") and "/" not in name, "latest names %r" % name
ckpt = os.path.join(run, name)
if not os.path.isdir(ckpt):
    # Killed between moving the old step-N aside and moving the new one in: recoverable.
    spare = [n for n in os.listdir(run) if n.startswith("." + name + ".")
             and os.path.exists(os.path.join(run, n, "state.json"))]
    assert spare, "latest names %s, which is missing and not recoverable" % name
    ckpt = os.path.join(run, spare[0])
state = json.load(open(os.path.join(ckpt, "state.json")))
assert "step-%d" % state["step"] == name, (state["step"], name)
for f in ("model.safetensors", "optimizer.safetensors"):
    data = open(os.path.join(ckpt, f), "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    end = max(v["data_offsets"][1] for k, v in header.items() if k != "__metadata__")
    assert 8 + n + end == len(data), "%s: %d bytes, header says %d" % (f, len(data), 8 + n + end)
print("  latest -> %s: loads (step %d)" % (name, state["step"]))
PY
}

if [[ -z "${CRASH_ONLY_CACHE:-}" ]]; then
# --- training -------------------------------------------------------------------------------
"$TANDEM" "${TRAIN[@]}" --out "$T/reference" >/dev/null
RUN="$T/killed"
kills=0
finished=0
attempt=0
while [[ $kills -lt $KILLS && $attempt -lt $((3 * KILLS)) ]]; do
  attempt=$((attempt + 1))
  if [[ -f "$RUN/config.json" ]]; then args=(--resume "$RUN"); else rm -rf "$RUN"; args=(--out "$RUN"); fi
  "$TANDEM" "${TRAIN[@]}" "${args[@]}" >/dev/null 2>"$T/train-$attempt.err" &
  pid=$!
  delay=$(python3 -c "import random; random.seed($SEED * 100 + $attempt); print(round(random.uniform(0.3, 3.0), 2))")
  sleep "$delay"
  if kill -9 "$pid" 2>/dev/null; then
    kills=$((kills + 1))
    wait "$pid" 2>/dev/null || true
    echo "kill $kills after ${delay}s"
    check_run "$RUN" || { echo "FAIL: checkpoint state after kill $kills"; ls -la "$RUN"; exit 1; }
  else
    wait "$pid" || { echo "FAIL: run $attempt failed"; cat "$T/train-$attempt.err"; exit 1; }
    # The run finished before the kill: it must match the uninterrupted run; start over.
    cmp -s "$T/reference/step-16/model.safetensors" "$RUN/step-16/model.safetensors" ||
      { echo "FAIL: a resumed run finished with different weights"; exit 1; }
    finished=$((finished + 1))
    echo "run finished before the kill (${delay}s): weights match; starting a new run"
    rm -rf "$RUN"
  fi
done
if [[ -f "$RUN/config.json" ]]; then args=(--resume "$RUN"); else rm -rf "$RUN"; args=(--out "$RUN"); fi
"$TANDEM" "${TRAIN[@]}" "${args[@]}" >/dev/null 2>"$T/train-final.err" ||
  { echo "FAIL: the run after the kills did not finish"; cat "$T/train-final.err"; exit 1; }
check_run "$RUN"
cmp "$T/reference/step-16/model.safetensors" "$RUN/step-16/model.safetensors" ||
  { echo "FAIL: weights after $kills kills differ from the uninterrupted run"; exit 1; }
if ls -a "$RUN" | grep -q '^\.step-'; then echo "FAIL: stale checkpoint temporaries left"; exit 1; fi
lines=$(wc -l <"$RUN/metrics.jsonl")
[[ $lines -eq 16 ]] || { echo "FAIL: metrics.jsonl has $lines lines, expected 16"; exit 1; }
echo "train: $kills kill(s), $((finished + 1)) resumed run(s) finished bit-identical to the uninterrupted one"

fi

# --- cache writes ---------------------------------------------------------------------------
mkdir -p "$T/www"
head -c $((8 << 20)) /dev/urandom >"$T/www/a.tif"
python3 "$ROOT/Scripts/fault-server.py" "$T/www" --port-file "$T/port" --max-seconds 300 \
  2>/dev/null &
SERVER=$!
for _ in $(seq 100); do [[ -s "$T/port" ]] && break; sleep 0.05; done
URL="http://127.0.0.1:$(cat "$T/port")/a.tif"
SIZE=$(stat -c %s "$T/www/a.tif")
CACHE="$T/cache"
FETCH=(fetch "$URL" --windows 2000 --length 4KiB --row-stride 64KiB --parallel 8
  --coalesce-gap off --cache "$CACHE")
for i in $(seq "$KILLS"); do
  "$TANDEM" "${FETCH[@]}" --seed "$i" >/dev/null 2>&1 &
  pid=$!
  delay=$(python3 -c "import random; random.seed($SEED * 200 + $i); print(round(random.uniform(0.05, 0.8), 2))")
  sleep "$delay"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  "$TANDEM" cache verify --cache "$CACHE" >"$T/verify-$i.txt" ||
    { echo "FAIL: cache verify after kill $i:"; cat "$T/verify-$i.txt"; exit 1; }
  echo "cache kill $i after ${delay}s: $(cat "$T/verify-$i.txt")"
done
# Bytes served through the (killed-into) cache are exactly the file's.
"$TANDEM" fetch "$URL" --range "0:$SIZE" --cache "$CACHE" --out "$T/through-cache.bin" >/dev/null
cmp "$T/www/a.tif" "$T/through-cache.bin" || { echo "FAIL: cache served wrong bytes"; exit 1; }
# Damaged entries (truncated, flipped byte) are detected, deleted, refetched, never served: a
# fresh cache filled by one complete read, two entries damaged, the same read again through the
# cache must give the bytes of a direct (uncached) read.
SMALL=(fetch "$URL" --windows 40 --length 4KiB --row-stride 64KiB --seed 9 --coalesce-gap off)
"$TANDEM" "${SMALL[@]}" --out "$T/direct.bin" >/dev/null
"$TANDEM" "${SMALL[@]}" --cache "$T/cache2" >/dev/null
mapfile -t entries < <(find "$T/cache2/v1/entries" -type f ! -name '.*' | sort | head -3)
[[ ${#entries[@]} -eq 3 ]] || { echo "FAIL: too few cache entries to damage"; exit 1; }
truncate -s -3 "${entries[0]}"
python3 -c "import sys; p=sys.argv[1]; d=bytearray(open(p,'rb').read()); d[-1]^=0xFF; open(p,'wb').write(d)" "${entries[1]}"
"$TANDEM" "${SMALL[@]}" --cache "$T/cache2" --out "$T/after-damage.bin" >"$T/after-damage.txt"
cmp "$T/direct.bin" "$T/after-damage.bin" || { echo "FAIL: a damaged entry was served"; exit 1; }
grep -q "misses [1-9]" "$T/after-damage.txt" ||
  { echo "FAIL: damaged entries were not refetched"; cat "$T/after-damage.txt"; exit 1; }
truncate -s -3 "${entries[2]}"
if "$TANDEM" cache verify --cache "$T/cache2" >"$T/verify-damaged.txt"; then
  echo "FAIL: cache verify passed with a damaged entry"; cat "$T/verify-damaged.txt"; exit 1
fi
"$TANDEM" cache verify --cache "$T/cache2" >/dev/null || { echo "FAIL: damage not cleaned"; exit 1; }
echo "cache: $KILLS kill(s) during writes, verify clean each time; damaged entries detected and refetched"
