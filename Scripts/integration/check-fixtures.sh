#!/usr/bin/env bash
# Integration check for the fixture world (issue 4). Usage: check-fixtures.sh WORK
# Generates a small world with $TANDEM_BIN (a few seconds), then validates it and the committed
# worlds under Catalogs/ with GDAL (LAYOUT=COG, GDAL's COG validator, georeferencing vs. the
# catalog) and the vendored STAC JSON schemas (core + eo/sar/sat/projection/label) via jsonschema
# in a venv made from /usr/bin/python3 (so GDAL's `osgeo` is visible too).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
WORK=${1:?usage: check-fixtures.sh WORK}
TANDEM_BIN=${TANDEM_BIN:-$ROOT/.build/debug/tandem}
VENV="$ROOT/.venv-stac"

if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c "import jsonschema, referencing, osgeo" 2>/dev/null; then
  rm -rf "$VENV"
  /usr/bin/python3 -m venv --system-site-packages "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "jsonschema>=4.18,<5"
fi

mkdir -p "$WORK"
OUT="$WORK/fixture-check"
rm -rf "$OUT" "$OUT-decoupled" "$OUT-v2"
"$TANDEM_BIN" fixtures --out "$OUT" --tiles 3 --size 160 --dates 3 --flood --quiet >"$WORK/fixture-check.log"
"$TANDEM_BIN" fixtures --out "$OUT-decoupled" --tiles 2 --size 96 --dates 2 --preset decoupled --quiet >>"$WORK/fixture-check.log"
# World version 2 (the science comparison's world), heavy-nuisance preset.
"$TANDEM_BIN" fixtures --out "$OUT-v2" --tiles 2 --size 128 --dates 2 --flood --world-version 2 \
  --preset heavy-nuisance --quiet >>"$WORK/fixture-check.log"

# Same command twice must give byte-identical trees.
"$TANDEM_BIN" fixtures --out "$OUT-again" --tiles 3 --size 160 --dates 3 --flood --quiet >/dev/null
diff -r "$OUT" "$OUT-again" >/dev/null || { echo "fixtures: same seed gave different files" >&2; exit 1; }
rm -rf "$OUT-again"

catalogs=("$OUT/catalog.json" "$OUT-decoupled/catalog.json" "$OUT-v2/catalog.json")
[[ -f "$ROOT/Catalogs/fixture-world/catalog.json" ]] && catalogs+=("$ROOT/Catalogs/fixture-world/catalog.json")
[[ -f "$ROOT/Catalogs/real/catalog.json" ]] && catalogs+=("$ROOT/Catalogs/real/catalog.json")
"$VENV/bin/python" "$ROOT/Scripts/integration/check-fixtures.py" \
  "$ROOT/Tests/FixturesTests/Schemas" "${catalogs[@]}"

# Tandem's reader returns GDAL's pixels on the generated COGs.
"$VENV/bin/python" "$ROOT/Scripts/integration/check-fixtures-pixels.py" "$TANDEM_BIN" "$WORK" \
  "$OUT" "$OUT-decoupled" "$OUT-v2"
