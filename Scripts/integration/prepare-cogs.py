#!/usr/bin/python3
"""COGs as GDAL's COG driver writes them, big enough that one window needs several requests:
256/512-pixel tiles, overviews, DEFLATE/ZSTD/LZW with predictors, 1–3 bands. Written to
WORK/www/cogs/ (served by the loopback nginx of Scripts/test) with a list.json of
{name, size, bands}. Used by check-release-http.py and check-faults.py.

Usage: prepare-cogs.py WORK
"""
import json
import os
import sys

import numpy as np
from osgeo import gdal

gdal.UseExceptions()
OUT = os.path.join(sys.argv[1], "www", "cogs")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(20)
SPECS = [
    # name, size, bands, GDAL type, numpy type, creation options
    ("s2_b04_deflate.tif", 2048, 1, gdal.GDT_UInt16, np.uint16,
     ["COMPRESS=DEFLATE", "PREDICTOR=2", "BLOCKSIZE=256"]),
    ("s1_vv_zstd.tif", 1536, 2, gdal.GDT_Float32, np.float32,
     ["COMPRESS=ZSTD", "PREDICTOR=3", "BLOCKSIZE=256"]),
    ("s2_rgb_lzw.tif", 1800, 3, gdal.GDT_UInt16, np.uint16, ["COMPRESS=LZW", "BLOCKSIZE=512"]),
]
listing = []
for name, size, bands, gtype, ntype, options in SPECS:
    mem = gdal.GetDriverByName("MEM").Create("", size, size, bands, gtype)
    mem.SetGeoTransform([600000, 10, 0, 5000000, 0, -10])
    yy, xx = np.mgrid[0:size, 0:size]
    for b in range(bands):
        smooth = (xx * (b + 3) + yy * 7 + (xx // 37) * (yy // 29)) % 4000
        data = (smooth + rng.integers(0, 50, size=(size, size))).astype(ntype)
        if ntype == np.float32:
            data = (data / 4000.0).astype(np.float32)
        mem.GetRasterBand(b + 1).WriteArray(data)
    gdal.GetDriverByName("COG").CreateCopy(
        os.path.join(OUT, name), mem, options=options + ["OVERVIEWS=AUTO"])
    listing.append({"name": name, "size": size, "bands": bands})
with open(os.path.join(OUT, "list.json"), "w") as f:
    json.dump(listing, f)
print("prepare-cogs: %d COGs in %s" % (len(listing), OUT))
