#!/usr/bin/env bash
# Writes the GDAL cross-validation matrix (GeoTIFFs/COGs + expected .npy + manifest.json) into
# WORK/www/matrix/, so GeoTIFFTests read it from disk and the HTTP tests over nginx.
# Usage: Scripts/integration/prepare-gdal-matrix.sh WORK
set -euo pipefail
WORK=${1:?usage: prepare-gdal-matrix.sh WORK}
HERE=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$WORK/www/matrix"
/usr/bin/python3 "$HERE/Scripts/reference/gdal_matrix.py" "$WORK/www/matrix"
