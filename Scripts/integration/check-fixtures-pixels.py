"""Tandem's reader against GDAL on generated fixture COGs (issue 4).

Usage: check-fixtures-pixels.py TANDEM_BIN WORKDIR DIR...
For every GeoTIFF under each DIR, reads a window that crosses tile boundaries at full
resolution and one on the first overview with `tandem read`, and requires the .npy to equal
GDAL's ReadAsArray bit for bit (NaN-aware for floats).
"""
import os
import subprocess
import sys

import numpy as np
from osgeo import gdal

gdal.UseExceptions()


def tandem_read(binary, path, window, overview, out):
    x, y, w, h = window
    cmd = [binary, "read", path, "--window", f"{x},{y},{w},{h}", "--out", out]
    if overview:
        cmd += ["--overview", str(overview)]
    subprocess.run(cmd, check=True, capture_output=True)
    return np.load(out)


def same(a, b):
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind == "f":
        return bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))
    return bool(np.array_equal(a, b))


def main():
    binary, work, dirs = sys.argv[1], sys.argv[2], sys.argv[3:]
    out = os.path.join(work, "pixel-check.npy")
    checked = failures = 0
    for root in dirs:
        for folder, _, files in os.walk(root):
            for name in sorted(files):
                if not name.endswith(".tif"):
                    continue
                path = os.path.join(folder, name)
                ds = gdal.Open(path)
                w, h = ds.RasterXSize, ds.RasterYSize
                cases = [(0, (w // 3, h // 4, w - w // 3, h - h // 4))]
                band = ds.GetRasterBand(1)
                if band.GetOverviewCount() > 0:
                    ov = band.GetOverview(0)
                    cases.append((1, (0, 0, ov.XSize, ov.YSize)))
                for level, window in cases:
                    x, y, ww, hh = window
                    expected = np.stack([
                        (ds.GetRasterBand(b + 1) if level == 0
                         else ds.GetRasterBand(b + 1).GetOverview(level - 1)).ReadAsArray(x, y, ww, hh)
                        for b in range(ds.RasterCount)
                    ])
                    got = tandem_read(binary, path, window, level, out)
                    checked += 1
                    if not same(got, expected):
                        failures += 1
                        print(f"MISMATCH {path} overview {level} window {window}", file=sys.stderr)
    print(f"tandem read vs GDAL: {checked} windows on fixture COGs, {failures} mismatches")
    sys.exit(1 if failures or checked == 0 else 0)


if __name__ == "__main__":
    main()
