#!/usr/bin/env bash
# Creates .venv-torch (git-ignored) with torch + safetensors from PyPI, once; prints its python.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="$ROOT/.venv-torch"
if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c "import torch, safetensors" 2>/dev/null; then
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install -q torch safetensors numpy >&2
fi
echo "$VENV/bin/python"
