#!/usr/bin/env bash
# Fault matrix of the release binary (issue 19): every retryable fault on the first, middle and
# last request of read, info, bench pipeline and train; see check-faults.py.
# Usage: check-faults.sh WORK   (TANDEM_RELEASE_BIN: the binary; built when unset)
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
WORK=${1:?usage: check-faults.sh WORK}
if [[ -z "${TANDEM_RELEASE_BIN:-}" ]]; then
  swift build -c release --product tandem 2>&1 | grep -E "error|Build complete" | tail -2
  export TANDEM_RELEASE_BIN="$ROOT/.build/release/tandem"
fi
/usr/bin/python3 "$ROOT/Scripts/integration/check-faults.py" "$WORK"
