#!/usr/bin/env bash
# The release binary (what users run) over the loopback nginx of Scripts/test: reads bit-exact
# with GDAL, fetch, catalog, bench read and train (issue 20: a release-only miscompile made every
# multi-request HTTP read trap while the debug test suite passed). Usage: check-release-http.sh WORK
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
WORK=${1:?usage: check-release-http.sh WORK}
: "${TANDEM_TEST_HTTP:?run from Scripts/test (needs the loopback nginx)}"
if [[ -z "${TANDEM_RELEASE_BIN:-}" ]]; then
  swift build -c release --product tandem 2>&1 | grep -E "error|warning: |Compiling|Build complete" | tail -3
  export TANDEM_RELEASE_BIN="$ROOT/.build/release/tandem"
fi
/usr/bin/python3 "$ROOT/Scripts/integration/check-release-http.py" "$WORK"
