#!/usr/bin/env bash
# Regenerates Tests/NNTests/Fixtures/golden-tiny.safetensors with PyTorch (venv .venv-torch).
set -euo pipefail
PY="$("$(dirname "$0")/venv.sh")"
exec "$PY" "$(dirname "$0")/make_golden.py"
