#!/usr/bin/env bash
# Secrets never leak: authenticated runs against a loopback server that denies them (403, 500)
# with signed URLs (S3 X-Amz-*, Azure SAS sig/se, token=…), TANDEM_AUTHORIZATION and an API-key
# header. Every byte of stdout, stderr and every file written in the run and cache directories
# is scanned for the secret strings. Usage: check-secrets.sh [WORK]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${1:-$(mktemp -d)}
T=$(mktemp -d "$WORK/secrets.XXXXXX")
TANDEM=${TANDEM_BIN:-$ROOT/.build/debug/tandem}
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

SECRETS=(SIGSECRET0001 CREDSECRET0002 STSSECRET0003 AZSIGSECRET0004 TOKSECRET0005
  BEARERSECRET0006 APIKEYSECRET0007 PASSSECRET0008)
QUERY="x-id=GetObject&X-Amz-Signature=SIGSECRET0001&X-Amz-Credential=CREDSECRET0002&X-Amz-Security-Token=STSSECRET0003&sig=AZSIGSECRET0004&se=2099-01-01&sv=2022-11-02&token=TOKSECRET0005"
export TANDEM_AUTHORIZATION="Bearer BEARERSECRET0006"

serve() { # NAME ARGS… → sets PORT
  local name=$1
  shift
  python3 "$ROOT/Scripts/fault-server.py" "$T/www" --port-file "$T/$name.port" \
    --log "$T/$name.log" --max-seconds 300 "$@" 2>>"$T/server.err" &
  PIDS+=($!)
  for _ in $(seq 100); do [[ -s "$T/$name.port" ]] && break; sleep 0.05; done
  PORT=$(cat "$T/$name.port")
}

mkdir -p "$T/www"
cp -R "$ROOT/Catalogs/fixture-world/." "$T/www/"
runs=()
run() { # NAME EXPECTED_STATUS ARGS…
  local name=$1 expected=$2
  shift 2
  set +e
  "$TANDEM" "$@" >"$T/$name.stdout" 2>"$T/$name.stderr"
  local status=$?
  set -e
  if [[ $status -ne $expected ]]; then
    echo "FAIL: $name exited $status (expected $expected)"
    cat "$T/$name.stderr"
    exit 1
  fi
  runs+=("$name")
}

# 1. Everything denied (403): fetch of a signed URL, catalog and train with signed catalog URLs.
serve deny --status 403
BASE="http://user:PASSSECRET0008@127.0.0.1:$PORT"
run fetch403 1 fetch "$BASE/sentinel-2-l2a/S2-t00-20240410/B04.tif?$QUERY" --range 0:100 \
  --cache "$T/cache" --retries 1 --header "X-Api-Key: APIKEYSECRET0007"
run inspect403 1 catalog inspect "$BASE/catalog.json?$QUERY" --cache "$T/cache" \
  --header "X-Api-Key: APIKEYSECRET0007"
run train403 1 train --catalog "$BASE/catalog.json?$QUERY" --out "$T/run403" --model tiny \
  --size 32 --batch 4 --steps 2 --cache "$T/cache" --header "X-Api-Key: APIKEYSECRET0007"

# 2. Server errors (500) after retries.
serve err500 --status 500
run fetch500 1 fetch "http://127.0.0.1:$PORT/a.tif?$QUERY" --range 0:100 --cache "$T/cache" \
  --retries 2
# 3. A run that works: signed catalog URL, every asset href signed, authenticated. Its run
#    directory (config.json, metrics.jsonl, summary.json, checkpoints) and the cache are scanned.
serve signed --rewrite-json "?$QUERY"
run trainSigned 0 train --catalog "http://127.0.0.1:$PORT/catalog.json?$QUERY" \
  --out "$T/runSigned" --model tiny --size 32 --batch 4 --steps 2 --cache "$T/cache" \
  --header "X-Api-Key: APIKEYSECRET0007" --json
# 4. The catalog loads, the rasters are denied: the failure names the object, not its secrets.
serve assets --deny-suffix .tif --rewrite-json "?$QUERY"
run trainAssets 1 train --catalog "http://127.0.0.1:$PORT/catalog.json?$QUERY" \
  --out "$T/runAssets" --model tiny --size 32 --batch 4 --steps 2 --cache "$T/cache2" \
  --header "X-Api-Key: APIKEYSECRET0007" --retries 1

# The secrets were really in play: the server saw authenticated requests.
grep -q " auth$" "$T/deny.log" || { echo "FAIL: no authenticated request reached the server"; exit 1; }
grep -q "\.tif 403" "$T/assets.log" || { echo "FAIL: no asset read was attempted"; exit 1; }
[[ -s "$T/runSigned/config.json" && -s "$T/runSigned/summary.json" ]] ||
  { echo "FAIL: the signed run wrote no config.json/summary.json"; exit 1; }
# Redaction removes the secrets, not the URL: the harmless parameter survives.
grep -q "x-id=GetObject" "$T/trainAssets.stderr" ||
  { echo "FAIL: the failing object's URL is not named"; cat "$T/trainAssets.stderr"; exit 1; }

# Scan: stdout/stderr of every run, every file in the run directories, and the cache's own
# metadata (object records, last-run.json, and each entry's header with its key). The payload
# of a cache entry is the server's bytes verbatim (here: catalog documents whose hrefs the
# server signed), not something Tandem wrote about the request, so it is not scanned.
outputs=()
for name in "${runs[@]}"; do outputs+=("$T/$name.stdout" "$T/$name.stderr"); done
python3 - "$T" "${SECRETS[*]}" "${outputs[@]}" <<'PY'
import os, sys
root, secrets, outputs = sys.argv[1], sys.argv[2].split(), sys.argv[3:]
MAGIC = b"TNDCACHE2\n"
blobs = {}
for path in outputs:
    blobs[path] = open(path, "rb").read()
for top in sorted(os.listdir(root)):
    if not (top.startswith("run") or top.startswith("cache")):
        continue
    for dirpath, _, names in os.walk(os.path.join(root, top)):
        for name in names:
            path = os.path.join(dirpath, name)
            data = open(path, "rb").read()
            if "/entries/" in path and data.startswith(MAGIC):
                n = int.from_bytes(data[len(MAGIC):len(MAGIC) + 8], "little")
                data = data[:len(MAGIC) + 8 + n]  # magic, key length, key
            blobs[path] = data
leaks = [(s, p) for s in secrets for p, d in blobs.items() if s.encode() in d]
for s, p in leaks:
    print("LEAK: %s in %s" % (s, p))
print("secrets: scanned %d outputs and files (%d cache entry keys) for %d secrets: %d leaks"
      % (len(blobs), sum("/entries/" in p for p in blobs), len(secrets), len(leaks)))
sys.exit(1 if leaks else 0)
PY
# The cache directory is private.
mode=$(stat -c %a "$T/cache")
[[ "$mode" == 700 ]] || { echo "FAIL: cache directory mode $mode (expected 700)"; exit 1; }
