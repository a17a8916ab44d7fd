#!/usr/bin/python3
"""Writes the request-pinning COG fixture and GDAL's block offsets/sizes for it.

Tests/GeoTIFFTests/Fixtures/pin/pin_cog.tif: 1024x1024, 2 bands uint16, DEFLATE + predictor 2,
256x256 tiles, overviews (COG driver); pin_cog.json: BLOCK_OFFSET/BLOCK_SIZE of every tile of the
full-resolution image and of overview 1, as GDAL reports them. Run with /usr/bin/python3.
"""
import json
import os

import numpy as np
from osgeo import gdal

gdal.UseExceptions()
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "Tests", "GeoTIFFTests", "Fixtures", "pin")
os.makedirs(OUT, exist_ok=True)
w = h = 1024
yy, xx = np.mgrid[0:h, 0:w]
mem = gdal.GetDriverByName("MEM").Create("", w, h, 2, gdal.GDT_UInt16)
mem.SetGeoTransform([600000, 10, 0, 5000000, 0, -10])
mem.GetRasterBand(1).WriteArray(((xx * 7 + yy * 3) % 4000).astype(np.uint16))
mem.GetRasterBand(2).WriteArray(((xx // 9 + yy // 5) % 300).astype(np.uint16))
path = os.path.join(OUT, "pin_cog.tif")
gdal.Translate(path, mem, format="COG", creationOptions=[
    "COMPRESS=DEFLATE", "PREDICTOR=YES", "BLOCKSIZE=256", "OVERVIEW_RESAMPLING=NEAREST"])
ds = gdal.Open(path)


def blocks(band):
    out = {}
    bx, by = band.GetBlockSize()
    for ty in range((band.YSize + by - 1) // by):
        for tx in range((band.XSize + bx - 1) // bx):
            out["%d,%d" % (tx, ty)] = [
                int(band.GetMetadataItem("BLOCK_OFFSET_%d_%d" % (tx, ty), "TIFF")),
                int(band.GetMetadataItem("BLOCK_SIZE_%d_%d" % (tx, ty), "TIFF"))]
    return out


b = ds.GetRasterBand(1)
json.dump({"size": os.path.getsize(path), "main": blocks(b), "overview1": blocks(b.GetOverview(0))},
          open(os.path.join(OUT, "pin_cog.json"), "w"), indent=1, sort_keys=True)
print("pin_cog: %d bytes" % os.path.getsize(path))
