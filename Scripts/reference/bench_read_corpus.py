#!/usr/bin/python3
"""Benchmark corpus for `Scripts/bench-read`: 64 COGs 1024x1024, 4-band uint16, DEFLATE +
predictor 2, 256x256 tiles, overviews; 16 two-band float32 COGs, DEFLATE + floating-point
predictor. Values look like imagery (smooth fields + noise) so tiles compress realistically.
Usage: bench_read_corpus.py OUTDIR"""
import os
import sys

import numpy as np
from osgeo import gdal

gdal.UseExceptions()
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)
n = 1024
yy, xx = np.mgrid[0:n, 0:n].astype(np.float32) / n


def field(k):
    f = np.zeros((n, n), np.float32)
    for _ in range(6):
        a, b, c = rng.uniform(1, 12, 3)
        f += np.sin(a * xx * 6.28 + b * yy * 3.14 + c)
    return f


for i in range(64):
    path = os.path.join(out, "s2_%02d.tif" % i)
    if os.path.exists(path):
        continue
    mem = gdal.GetDriverByName("MEM").Create("", n, n, 4, gdal.GDT_UInt16)
    for b in range(4):
        v = 1500 + 600 * field(b) + rng.normal(0, 40, (n, n))
        mem.GetRasterBand(b + 1).WriteArray(np.clip(v, 0, 10000).astype(np.uint16))
    mem.SetGeoTransform([500000 + i * 10240, 10, 0, 4000000, 0, -10])
    gdal.Translate(path, mem, format="COG", creationOptions=[
        "COMPRESS=DEFLATE", "PREDICTOR=YES", "BLOCKSIZE=256", "OVERVIEW_RESAMPLING=AVERAGE"])
for i in range(16):
    path = os.path.join(out, "s1_%02d.tif" % i)
    if os.path.exists(path):
        continue
    mem = gdal.GetDriverByName("MEM").Create("", n, n, 2, gdal.GDT_Float32)
    for b in range(2):
        v = (0.05 + 0.02 * field(b)) * rng.gamma(4.0, 0.25, (n, n))
        mem.GetRasterBand(b + 1).WriteArray(v.astype(np.float32))
    mem.SetGeoTransform([500000 + i * 10240, 10, 0, 4100000, 0, -10])
    gdal.Translate(path, mem, format="COG", creationOptions=[
        "COMPRESS=DEFLATE", "PREDICTOR=FLOATING_POINT", "BLOCKSIZE=256",
        "OVERVIEW_RESAMPLING=AVERAGE"])
print("corpus ready in", out)
