"""Quicklooks and statistics of the bundled fixture world for Docs/FIXTURES.md.

Usage: /usr/bin/python3 Scripts/reference/fixture-quicklooks.py Catalogs/fixture-world Docs/img
Writes PNGs (via GDAL's PNG driver) for tile t00 and prints per-class statistics and a
no-learning baseline (nearest class mean on raw pixels) as Markdown.
"""

import glob
import os
import sys

import numpy as np
from osgeo import gdal

gdal.UseExceptions()
PALETTE = np.array([[0, 0, 0], [40, 100, 210], [25, 110, 45], [230, 200, 70], [150, 220, 120],
                    [205, 45, 45], [170, 150, 120]], dtype=np.uint8)
NAMES = ["water", "forest", "cropland", "grassland", "urban", "bare"]


def read(path):
    ds = gdal.Open(path)  # keep the dataset alive while its band is read
    return ds.GetRasterBand(1).ReadAsArray()


def png(path, rgb):
    h, w = rgb.shape[:2]
    mem = gdal.GetDriverByName("MEM").Create("", w, h, 3, gdal.GDT_Byte)
    for i in range(3):
        mem.GetRasterBand(i + 1).WriteArray(rgb[:, :, i])
    gdal.GetDriverByName("PNG").CreateCopy(path, mem)


def side_by_side(images, gap=6):
    h = max(i.shape[0] for i in images)
    out = [np.full((h, gap, 3), 255, np.uint8)]
    for im in images:
        out += [im, np.full((h, gap, 3), 255, np.uint8)]
    return np.concatenate(out, axis=1)


def s2_rgb(item_dir):
    bands = [read(os.path.join(item_dir, b + ".tif")).astype(np.float32) for b in ("B04", "B03", "B02")]
    return np.clip(np.stack(bands, -1) / 2200 * 255, 0, 255).astype(np.uint8)


def s1_db(item_dir, band):
    db = 10 * np.log10(np.maximum(read(os.path.join(item_dir, band + ".tif")), 1e-6))
    g = np.clip((db + 25) / 25 * 255, 0, 255).astype(np.uint8)
    return np.stack([g, g, g], -1)


def main(world, out):
    os.makedirs(out, exist_ok=True)
    lc = read(f"{world}/labels/landcover-t00/landcover.tif")
    water = sorted(glob.glob(f"{world}/labels/water-t00-*/water.tif"))
    masks = []
    for w in water:
        m = read(w)
        rgb = PALETTE[np.where(m == 1, 1, 0)]
        rgb[m == 0] = (235, 235, 235)
        masks.append(rgb)
    png(f"{out}/fixtures-landcover.png", side_by_side([PALETTE[lc]] + [masks[0], masks[3]]))
    s2 = sorted(glob.glob(f"{world}/sentinel-2-l2a/S2-t00-*"))
    png(f"{out}/fixtures-s2.png", side_by_side([s2_rgb(d) for d in s2]))
    s1 = sorted(glob.glob(f"{world}/sentinel-1-rtc/S1-t00-*"))
    png(f"{out}/fixtures-s1.png", side_by_side([s1_db(d, "vv") for d in s1] + [s1_db(s1[1], "vh")]))

    # No-learning baseline: nearest class mean (per-pixel raw values), fitted on tiles t00–t02
    # (clear S2 pixels, all S1 pixels; flooded pixels count as water), tested on t03.
    def samples(tiles, sensor):
        xs, ys = [], []
        for t in tiles:
            lc = read(f"{world}/labels/landcover-{t}/landcover.tif")
            for d in sorted(glob.glob(f"{world}/{sensor}/*-{t}-*")):
                day = d.rsplit("-", 1)[1]
                wm = read(f"{world}/labels/water-{t}-{day}/water.tif")
                y = np.where(wm == 1, 1, lc)
                if sensor == "sentinel-2-l2a":
                    x = np.stack([read(f"{d}/{b}.tif") for b in ("B02", "B03", "B04", "B08", "B11", "B12")], -1).astype(np.float32)
                    scl = read(f"{d}/SCL.tif")
                    ok = ~np.isin(scl, [3, 8, 9, 10])
                else:
                    x = 10 * np.log10(np.stack([read(f"{d}/vv.tif"), read(f"{d}/vh.tif")], -1))
                    ok = np.ones(y.shape, bool)
                xs.append(x[ok])
                ys.append(y[ok])
        return np.concatenate(xs), np.concatenate(ys)

    print("| sensor | pixel accuracy | balanced accuracy |")
    print("|---|---|---|")
    for sensor, label in (("sentinel-2-l2a", "S2 (6 bands, clear pixels)"), ("sentinel-1-rtc", "S1 (VV, VH dB)")):
        xtr, ytr = samples(["t00", "t01", "t02"], sensor)
        xte, yte = samples(["t03"], sensor)
        means = np.stack([xtr[ytr == c].mean(0) for c in range(1, 7)])
        pred = np.argmin(((xte[:, None, :] - means[None]) ** 2).sum(-1), 1) + 1
        acc = (pred == yte).mean()
        bal = np.mean([(pred[yte == c] == c).mean() for c in range(1, 7) if (yte == c).any()])
        print(f"| {label} | {acc:.3f} | {bal:.3f} |")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
