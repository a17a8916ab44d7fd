#!/usr/bin/env bash
# Smoke test of the loopback STAC API, from a fresh temp dir: start pgstac + stac-fastapi-pgstac,
# load the fixture world (assets served by a loopback nginx) and 10,000 synth items, run the five
# pystac-client searches and check them against the source documents, fetch one asset through
# the API's href, stop everything. Usage: Scripts/stac-api/smoke.sh [OUT.json]
# The tandem binary for `catalog synth`: $TANDEM_BIN, else .build/release/tandem, else debug.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/../lib.sh"
source "$HERE/start.sh"
OUT=${1:-}

TANDEM=${TANDEM_BIN:-}
for candidate in "$ROOT/.build/release/tandem" "$ROOT/.build/debug/tandem"; do
  [[ -n "$TANDEM" ]] && break
  [[ -x "$candidate" ]] && TANDEM=$candidate
done
[[ -x "$TANDEM" ]] || { echo "smoke: no tandem binary (build it or set TANDEM_BIN)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/tandem-stacapi.XXXXXX)
# nginx workers and the cluster's owner are unprivileged: the tree must be world-traversable.
chmod 755 "$WORK"
cleanup() { stop_stac_api "$WORK/pg"; stop_nginx; rm -rf "$WORK"; }
trap cleanup EXIT

# The COGs where the API's asset hrefs point: a copy of the fixture world under nginx.
mkdir -p "$WORK/www"
cp -r "$ROOT/Catalogs/fixture-world" "$WORK/www/"
chmod -R a+rX "$WORK/www"
start_nginx "$WORK/www"
BASE="http://127.0.0.1:$NGINX_PORT/fixture-world/"

t=$SECONDS
"$HERE/venv.sh" >/dev/null
echo "venv: $((SECONDS - t)) s"

ms() { date +%s%3N; }
since() { local d=$(($(ms) - $1)); printf '%d.%d s' $((d / 1000)) $((d % 1000 / 100)); }
t0=$(ms)
start_stac_api "$WORK/pg"
echo "server start: $(since "$t0") ($STAC_API_URL)"

"$TANDEM" catalog synth --count 10000 --out "$WORK/synth.json" >/dev/null
t=$(ms)
"$STAC_API_PYTHON" "$HERE/load.py" --fixture-world "$ROOT/Catalogs/fixture-world" --base-url "$BASE" \
  --synth "$WORK/synth.json"
echo "load (fixture world + 10,000 synth items, with python's start): $(since "$t")"
t=$(ms)

"$STAC_API_PYTHON" "$HERE/pystac_search.py" "$STAC_API_URL" "$WORK/searches.json" >/dev/null
echo "five searches: $(since "$t")"
"$STAC_API_PYTHON" "$HERE/check_searches.py" "$WORK/searches.json" "$ROOT/Catalogs/fixture-world" "$WORK/synth.json"
[[ -z "$OUT" ]] || cp "$WORK/searches.json" "$OUT"

# An unfiltered search's count: pgstac caches counts per where clause, and start.sh's readiness
# probe made this one on the empty database (load.py clears the cache).
all=$(curl -fsS "$STAC_API_URL/search?limit=1" | "$STAC_API_PYTHON" -c 'import json, sys; print(json.load(sys.stdin).get("numberMatched"))')
[[ $all == 10049 ]] || { echo "smoke: unfiltered numberMatched $all, not 10049" >&2; exit 1; }
echo "unfiltered search: numberMatched $all"

# The first item's asset, through the href the API returns: a COG on the loopback nginx.
href=$("$STAC_API_PYTHON" -c '
import json, sys
item = json.load(sys.stdin)["features"][0]
print(item["assets"]["B02"]["href"])' < <(curl -fsS "$STAC_API_URL/collections/sentinel-2-l2a/items?limit=1"))
magic=$(curl -fsS -r 0-3 "$href" | od -An -tx1 | tr -d ' \n')
[[ $magic == 49492a00 || $magic == 49492b00 ]] || { echo "smoke: $href is not a TIFF ($magic)" >&2; exit 1; }
echo "asset via API href: $href (TIFF)"

echo "total from server start: $(since "$t0")"
echo "stac-api smoke: ok"
