#!/usr/bin/env bash
# Serves STAC test documents over the loopback nginx: a static catalog with relative links and
# item-collection pages chained by `next` links (GET with ?token=), one chain looping.
# Usage: prepare-stac.sh WORK   (files go under WORK/www/stac/)
set -euo pipefail
WORK="$1"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="$WORK/www/stac"
mkdir -p "$OUT/paging"
cp -r "$ROOT/Tests/STACTests/Fixtures/realdata/catalogs/pystac-test-case-1" "$OUT/"

page() { # page FILE ID NEXT-HREF-or-empty
  local next=""
  [[ -n "$3" ]] && next="{\"rel\":\"next\",\"href\":\"$3\",\"type\":\"application/geo+json\"}"
  cat > "$OUT/paging/$1" <<JSON
{"type":"FeatureCollection","features":[{"type":"Feature","stac_version":"1.0.0","id":"$2","geometry":null,
"properties":{"datetime":"2024-01-01T00:00:00Z"},"links":[],"assets":{}}],"links":[$next]}
JSON
}
# nginx ignores the query string for static files, so ?token= selects nothing but makes each
# request distinct, like an API token.
page items1.json a "./items2.json?token=b"
page items2.json b "items3.json?token=c"
page items3.json c ""
page loop1.json x "./loop2.json?token=1"
page loop2.json y "./loop1.json?token=2"
# nginx workers run as an unprivileged user; mktemp made WORK private.
chmod o+x "$WORK"
chmod -R a+rX "$WORK/www"
