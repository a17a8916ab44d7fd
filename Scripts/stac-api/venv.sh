#!/usr/bin/env bash
# Creates (once) the venv for the loopback STAC API: stac-fastapi-pgstac, pypgstac, uvicorn,
# pystac-client, pinned; prints its python. Reused while the pins import at the pinned versions.
# Outside the repo by default so a fresh worktree or clone does not reinstall:
#   TANDEM_VENV_DIR (default ~/.cache/tandem/venv-stacapi)
set -euo pipefail
VENV="${TANDEM_VENV_DIR:-$HOME/.cache/tandem/venv-stacapi}"
# stac-fastapi-pgstac 7.2 knows pgstac 0.10's search output (per-item base items); pypgstac's
# version is the pgstac schema version `pypgstac migrate` installs.
PINS=(stac-fastapi-pgstac==7.2.0 "pypgstac[psycopg]==0.10.0" uvicorn==0.38.0 pystac-client==0.9.1)
check='import importlib.metadata as m, sys
want = {"stac-fastapi-pgstac": "7.2.0", "pypgstac": "0.10.0", "uvicorn": "0.38.0", "pystac-client": "0.9.1"}
sys.exit(any(m.version(k) != v for k, v in want.items()))'
if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c "$check" 2>/dev/null; then
  # Debian's python3 (+ python3-venv from Scripts/bootstrap --test): the same interpreter in CI.
  /usr/bin/python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install -q --disable-pip-version-check --use-pep517 -c "$(dirname "$0")/constraints.txt" "${PINS[@]}" >&2
fi
echo "$VENV/bin/python"
