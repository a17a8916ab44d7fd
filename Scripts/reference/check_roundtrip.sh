#!/usr/bin/env bash
# Swift writes a trained tandem-tiny checkpoint; PyTorch loads it (strict) and compares embeddings.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"
PY="$(Scripts/reference/venv.sh)"
DIR=$(mktemp -d /tmp/tandem-roundtrip.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
TANDEM_NN_ROUNDTRIP_DIR="$DIR" swift test --filter NNTests.RoundTripExportTests >&2
"$PY" Scripts/reference/check_roundtrip.py "$DIR"
