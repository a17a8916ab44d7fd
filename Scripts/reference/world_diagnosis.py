#!/usr/bin/env python3
"""Why do raw band statistics classify the fixture world's land cover? Measures, on a world made
by `tandem fixtures`, how much of the land-cover signal is spectral (per pixel, per window) and
how much is spatial (texture and arrangement once each window's spectrum is normalized away).

Probes are multinomial logistic regressions (numpy, full-batch gradient descent with L2, fixed
init) fitted on the probe-train tiles and scored on the test tiles, on a non-overlapping grid of
SIZE px windows, dominant class per window (windows with ≥ 50 % labelled pixels; S2 windows with
more than 20 % cloud/shadow in SCL dropped), like `tandem eval --task landcover --probe linear`.

Feature sets (one JSON line each):
  pixel_spectra      per-pixel band values (S2 reflectance, S1 dB) → pixel class
  window_mean        per-band window mean
  window_mean_std    per-band mean and std (the `tandem eval` no-learning baseline)
  texture_only       per-band, after removing the window's mean and dividing by its std:
                     mean |gradient| at lags 1, 2, 4, 8 px and the lag-1/lag-8 ratio, plus the
                     std of 8×8 block means (how much of the variance is coarse) — no absolute
                     spectrum at all
  mean_std_texture   both
Also: Fisher ratios per class pair (best single band, per pixel), window purity (mean fraction of
the dominant class), class balance of the test windows.

Usage: world_diagnosis.py WORLD_DIR [--size 64] [--sensor s2|s1|both] [--bands B02,B03,B04,B08]
Needs /usr/bin/python3 with numpy and osgeo (python3-gdal).
"""
import argparse
import glob
import json
import os

import numpy as np
from osgeo import gdal

CLASSES = ["water", "forest", "cropland", "grassland", "urban", "bare"]


def read(path):
    ds = gdal.Open(path)
    return ds.GetRasterBand(1).ReadAsArray()


def tiles_by_role(world):
    cat = json.load(open(os.path.join(world, "catalog.json")))
    roles = cat["tandem:world"]["tile_roles"]
    return {t: v["role"] for t, v in roles.items()}


def scenes(world, tile, sensor, bands):
    """[(stack [C,H,W] float32, invalid mask [H,W])] of every scene of the tile."""
    out = []
    if sensor == "s2":
        for d in sorted(glob.glob(os.path.join(world, "sentinel-2-l2a", f"S2-{tile}-*"))):
            stack = np.stack([read(os.path.join(d, f"{b}.tif")).astype(np.float32) / 10000 for b in bands])
            scl = read(os.path.join(d, "SCL.tif"))
            invalid = np.isin(scl, [0, 3, 8, 9, 10])
            out.append((stack, invalid, os.path.basename(d)))
    else:
        for d in sorted(glob.glob(os.path.join(world, "sentinel-1-rtc", f"S1-{tile}-*"))):
            stack = np.stack([10 * np.log10(np.maximum(read(os.path.join(d, f"{b}.tif")), 1e-6)) for b in ("vv", "vh")])
            out.append((stack.astype(np.float32), np.zeros(stack.shape[1:], bool), os.path.basename(d)))
    return out


def texture_features(w):
    """w [C, S, S] → per-band spectrum-free texture descriptors."""
    feats = []
    for band in w:
        sd = band.std()
        z = (band - band.mean()) / (sd if sd > 1e-9 else 1)
        g = []
        for lag in (1, 2, 4, 8):
            gx = np.abs(z[:, lag:] - z[:, :-lag]).mean()
            gy = np.abs(z[lag:, :] - z[:-lag, :]).mean()
            g.append((gx + gy) / 2)
        s = z.shape[0] // 8
        blocks = z[: s * 8, : s * 8].reshape(s, 8, s, 8).mean(axis=(1, 3))
        feats += g + [g[0] / max(g[3], 1e-6), blocks.std()]
    return feats


def windows(world, tiles, sensor, bands, size):
    X = {"window_mean": [], "window_mean_std": [], "texture_only": []}
    y, purity, locations = [], [], set()
    pix_x, pix_y = [], []
    rng = np.random.default_rng(0)
    for tile in tiles:
        lc = read(glob.glob(os.path.join(world, "labels", f"landcover-{tile}", "*.tif"))[0]).astype(np.int64) - 1
        for stack, invalid, _ in scenes(world, tile, sensor, bands):
            H, W = lc.shape
            for y0 in range(0, H - size + 1, size):
                for x0 in range(0, W - size + 1, size):
                    lab = lc[y0:y0 + size, x0:x0 + size]
                    inv = invalid[y0:y0 + size, x0:x0 + size]
                    if inv.mean() > 0.2:
                        continue
                    valid = (lab >= 0) & (lab < 6)
                    if valid.mean() < 0.5:
                        continue
                    counts = np.bincount(lab[valid], minlength=6)
                    dom = int(np.argmax(counts))
                    w = stack[:, y0:y0 + size, x0:x0 + size]
                    ok = ~inv
                    m = [float(b[ok].mean()) for b in w]
                    s = [float(b[ok].std()) for b in w]
                    X["window_mean"].append(m)
                    X["window_mean_std"].append(m + s)
                    X["texture_only"].append(texture_features(w))
                    y.append(dom)
                    purity.append(counts[dom] / valid.sum())
                    locations.add((tile, x0, y0))
                    # 64 labelled clear pixels per window for the per-pixel probe.
                    idx = np.flatnonzero((valid & ok).ravel())
                    if idx.size:
                        pick = rng.choice(idx, size=min(64, idx.size), replace=False)
                        pix_x.append(w.reshape(w.shape[0], -1)[:, pick].T)
                        pix_y.append(lab.ravel()[pick])
    X = {k: np.asarray(v, np.float64) for k, v in X.items()}
    X["mean_std_texture"] = np.concatenate([X["window_mean_std"], X["texture_only"]], axis=1)
    return X, np.asarray(y), np.asarray(purity), len(locations), np.concatenate(pix_x), np.concatenate(pix_y)


def fit_predict(Xtr, ytr, Xte, classes=6, iters=500, lr=0.5, l2=1e-3):
    mu, sd = Xtr.mean(0), Xtr.std(0) + 1e-9
    A, B = (Xtr - mu) / sd, (Xte - mu) / sd
    A = np.hstack([A, np.ones((len(A), 1))])
    B = np.hstack([B, np.ones((len(B), 1))])
    Wt = np.zeros((A.shape[1], classes))
    Y = np.eye(classes)[ytr]
    # Adam on the mean cross-entropy (full batch), like LinearProbe.
    m = np.zeros_like(Wt)
    v = np.zeros_like(Wt)
    for t in range(1, iters + 1):
        z = A @ Wt
        z -= z.max(1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(1, keepdims=True)
        g = A.T @ (p - Y) / len(A) + l2 * Wt
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        Wt -= 0.05 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return np.argmax(B @ Wt, 1)


def recalls(truth, pred):
    return {CLASSES[c]: round(float((pred[truth == c] == c).mean()), 3) for c in range(6) if (truth == c).any()}


def scores(truth, pred):
    oa = float((truth == pred).mean())
    return round(oa, 3), round(float(np.mean(list(recalls(truth, pred).values()))), 3)


def fisher(px, py):
    out = {}
    for a in range(6):
        for b in range(a + 1, 6):
            xa, xb = px[py == a], px[py == b]
            if len(xa) < 10 or len(xb) < 10:
                continue
            f = (xa.mean(0) - xb.mean(0)) ** 2 / (xa.var(0) + xb.var(0) + 1e-12)
            out[f"{CLASSES[a]}/{CLASSES[b]}"] = round(float(f.max()), 2)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("world")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--sensor", default="both")
    ap.add_argument("--bands", default="B02,B03,B04,B08")
    args = ap.parse_args()
    roles = tiles_by_role(args.world)
    train = [t for t, r in roles.items() if r == "probe-train"]
    test = [t for t, r in roles.items() if r == "test"]
    for sensor in (["s2", "s1"] if args.sensor == "both" else [args.sensor]):
        bands = args.bands.split(",")
        Xtr, ytr, _, ltr, ptrx, ptry = windows(args.world, train, sensor, bands, args.size)
        Xte, yte, purity, lte, ptex, ptey = windows(args.world, test, sensor, bands, args.size)
        base = {"world": os.path.basename(os.path.normpath(args.world)), "sensor": sensor, "size": args.size}
        print(json.dumps({**base, "probe": "windows", "train": len(ytr), "test": len(yte),
                          "train_locations": ltr, "test_locations": lte,
                          "test_class_counts": np.bincount(yte, minlength=6).tolist(),
                          "mean_window_purity": round(float(purity.mean()), 3),
                          "windows_purer_than_90pct": round(float((purity > 0.9).mean()), 3)}))
        oa, ba = scores(ptey, fit_predict(ptrx, ptry, ptex))
        print(json.dumps({**base, "probe": "pixel_spectra", "overall_accuracy": oa, "balanced_accuracy": ba}))
        print(json.dumps({**base, "probe": "fisher_best_band", "pairs": fisher(ptrx, ptry)}))
        for name in ["window_mean", "window_mean_std", "texture_only", "mean_std_texture"]:
            pred = fit_predict(Xtr[name], ytr, Xte[name])
            oa, ba = scores(yte, pred)
            print(json.dumps({**base, "probe": name, "features": Xtr[name].shape[1], "overall_accuracy": oa,
                              "balanced_accuracy": ba, "recall": recalls(yte, pred)}))


if __name__ == "__main__":
    main()
