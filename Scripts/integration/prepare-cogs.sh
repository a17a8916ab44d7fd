#!/usr/bin/env bash
# GDAL-written COGs for the release-binary and fault-matrix checks (WORK/www/cogs/).
# Usage: prepare-cogs.sh WORK
set -euo pipefail
/usr/bin/python3 "$(dirname "$0")/prepare-cogs.py" "${1:?usage: prepare-cogs.sh WORK}"
