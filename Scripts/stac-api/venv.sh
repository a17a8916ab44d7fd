#!/usr/bin/env bash
# Creates (once) the venv for the loopback STAC API: stac-fastapi-pgstac, pypgstac, uvicorn,
# pystac-client, pinned; prints its python. Reused while it was made from the same pins.
# Outside the repo by default so a fresh worktree or clone does not reinstall:
#   TANDEM_VENV_DIR (default ~/.cache/tandem/venv-stacapi)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
VENV="${TANDEM_VENV_DIR:-$HOME/.cache/tandem/venv-stacapi}"
# stac-fastapi-pgstac 7.2 knows pgstac 0.10's search output (per-item base items); pypgstac's
# version is the pgstac schema version `pypgstac migrate` installs. constraints.txt pins the rest
# of the tree (pip freeze of a working venv).
PINS=(stac-fastapi-pgstac==7.2.0 "pypgstac[psycopg]==0.10.0" uvicorn==0.38.0 pystac-client==0.9.1)
stamp=$(echo "${PINS[*]}" | cat - "$HERE/constraints.txt" | sha256sum | cut -c1-16)
if [[ ! -x "$VENV/bin/python" || "$(cat "$VENV/.tandem-pins" 2>/dev/null)" != "$stamp" ]]; then
  # Debian's python3 (+ python3-venv from Scripts/bootstrap --test): the same interpreter in CI.
  # Remade from scratch, but only over a venv: never empty some other directory.
  if [[ -e "$VENV" && ! -f "$VENV/pyvenv.cfg" ]]; then
    echo "venv.sh: $VENV exists and is not a venv" >&2
    exit 1
  fi
  rm -rf "$VENV"
  /usr/bin/python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install -q --disable-pip-version-check --use-pep517 -c "$HERE/constraints.txt" "${PINS[@]}" >&2
  echo "$stamp" >"$VENV/.tandem-pins"
fi
echo "$VENV/bin/python"
