#!/usr/bin/env bash
# Tandem against a real STAC API (issue 18): PostgreSQL + pgstac + stac-fastapi-pgstac on loopback
# (Scripts/stac-api/start.sh), loaded with the fixture world (assets on the nginx of Scripts/test)
# and 10,000 generated items; pystac-client's answers to five searches are the reference
# (check-stac-api.py). Everything stops on exit. TANDEM_SKIP_STAC_API=1 skips the check.
# Usage: check-stac-api.sh WORK
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$ROOT/Scripts/stac-api/start.sh"
WORK=${1:?usage: check-stac-api.sh WORK}
if [[ "${TANDEM_SKIP_STAC_API:-0}" == 1 ]]; then
  echo "STAC API check skipped (TANDEM_SKIP_STAC_API=1)"
  exit 0
fi
: "${TANDEM_TEST_HTTP:?run from Scripts/test (needs the loopback nginx)}"
TANDEM=${TANDEM_RELEASE_BIN:-$ROOT/.build/release/tandem}
DIR=$(mktemp -d "$WORK/stac-api.XXXXXX")
chmod 755 "$DIR"
trap 'stop_stac_api "$DIR/pg"' EXIT
"$ROOT/Scripts/stac-api/venv.sh" >/dev/null
start_stac_api "$DIR/pg"
"$TANDEM" catalog synth --count 10000 --out "$DIR/synth.json" >/dev/null
"$STAC_API_PYTHON" "$ROOT/Scripts/stac-api/load.py" --fixture-world "$ROOT/Catalogs/fixture-world" \
  --base-url "$TANDEM_TEST_HTTP/train-world/" --synth "$DIR/synth.json"
"$STAC_API_PYTHON" "$ROOT/Scripts/stac-api/pystac_search.py" "$STAC_API_URL" "$DIR/searches.json"
"$STAC_API_PYTHON" "$ROOT/Scripts/stac-api/check_searches.py" "$DIR/searches.json" \
  "$ROOT/Catalogs/fixture-world" "$DIR/synth.json"
TANDEM_RELEASE_BIN=$TANDEM /usr/bin/python3 "$ROOT/Scripts/integration/check-stac-api.py" \
  "$DIR" "$STAC_API_URL" "$DIR/searches.json"
