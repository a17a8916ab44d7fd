#!/usr/bin/env bash
# Serves the bundled fixture world for the training tests: WORK/www/train-world/ (over loopback
# nginx as $TANDEM_TEST_HTTP/train-world/catalog.json).
set -euo pipefail
WORK=$1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$WORK/www/train-world"
cp -R "$ROOT/Catalogs/fixture-world/." "$WORK/www/train-world/"
chmod -R a+rX "$WORK/www/train-world"
