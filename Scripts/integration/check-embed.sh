#!/usr/bin/env bash
# Integration check for `tandem embed` (issue 10): embeds a sparse grid of the bundled world with
# a random tiny encoder, then checks with NumPy and GDAL/OSR (/usr/bin/python3) that the .npy files
# load with one row per index line, and that every line's pixel window and bounds agree with the
# S1 COG's geotransform and with OSR's UTM → WGS 84 transform. Usage: check-embed.sh WORK
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
WORK=${1:?usage: check-embed.sh WORK}
TANDEM_BIN=${TANDEM_BIN:-$ROOT/.build/debug/tandem}
OUT="$WORK/embed-check"
rm -rf "$OUT"
"$TANDEM_BIN" embed --checkpoint random --model tiny --size 32 --stride 96 \
  --catalog "$ROOT/Catalogs/fixture-world/catalog.json" --out "$OUT" --blas-threads 1 --quiet \
  >"$WORK/embed-check.log"
/usr/bin/python3 - "$OUT" "$ROOT/Catalogs/fixture-world" <<'PY'
import json, sys
import numpy as np
from osgeo import gdal, osr

out, world = sys.argv[1], sys.argv[2]
gdal.UseExceptions()
lines = [json.loads(l) for l in open(f"{out}/index.jsonl")]
summary = json.load(open(f"{out}/summary.json"))
arrays = {m: np.load(f"{out}/embeddings-{m}.npy") for m in summary["modalities"]}
assert len(lines) == summary["rows"] > 0, (len(lines), summary["rows"])
for m, a in arrays.items():
    assert a.dtype == np.float32 and a.shape == (len(lines), summary["feature_dimension"]), (m, a.shape)
    assert np.isfinite(a).all(), m
assert [l["row"] for l in lines] == list(range(len(lines)))
wgs84 = osr.SpatialReference()
wgs84.ImportFromEPSG(4326)
wgs84.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
worst = 0.0
for l in lines:
    ds = gdal.Open(f"{world}/sentinel-1-rtc/{l['s1']}/vv.tif")
    gt = ds.GetGeoTransform()
    x0, y0 = gt[0] + gt[1] * l["x"], gt[3] + gt[5] * l["y"]
    x1, y1 = x0 + gt[1] * l["size"], y0 + gt[5] * l["size"]
    native = [min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)]
    assert all(abs(a - b) < 1e-3 for a, b in zip(native, l["crs_bounds"])), (l, native)
    srs = osr.SpatialReference()
    srs.ImportFromWkt(ds.GetProjection())
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    assert l["crs"] == f"EPSG:{srs.GetAuthorityCode(None)}", (l["crs"], srs.GetAuthorityCode(None))
    tr = osr.CoordinateTransformation(srs, wgs84)
    pts = [tr.TransformPoint(x, y)[:2] for x in (x0, x1) for y in (y0, y1)]
    ref = [min(p[0] for p in pts), min(p[1] for p in pts), max(p[0] for p in pts), max(p[1] for p in pts)]
    worst = max(worst, max(abs(a - b) for a, b in zip(ref, l["bounds"])))
assert worst < 1e-7, f"bounds differ from OSR by {worst} degrees"
print(f"embed: {len(lines)} rows, {len(arrays)} arrays; bounds within {worst:.1e}° of OSR")
PY
