#!/usr/bin/python3
"""GDAL cross-validation matrix for the GeoTIFF reader.

Writes GeoTIFFs/COGs covering data types x compressions x predictors x block sizes x interleave x
BigTIFF x overviews (a covering design: every data type meets every compatible compression once,
and the other axes cycle through their values), then, for each file, random windows (interior,
image edges, partial tiles, past the edge) and overview levels, with GDAL's answer as .npy files and
a manifest.json. Run with /usr/bin/python3 (needs osgeo.gdal):

    Scripts/reference/gdal_matrix.py OUTDIR
"""
import json
import os
import sys

import numpy as np
from osgeo import gdal

gdal.UseExceptions()
gdal.PushErrorHandler("CPLQuietErrorHandler")

OUT = sys.argv[1]
os.makedirs(os.path.join(OUT, "expected"), exist_ok=True)
rng = np.random.default_rng(20261127)

# name -> (GDAL type, numpy dtype of GDAL's array, creation options, numpy view for expectations)
DTYPES = {
    "uint8": (gdal.GDT_Byte, np.uint8, [], None),
    "int8": (gdal.GDT_Byte, np.uint8, ["PIXELTYPE=SIGNEDBYTE"], np.int8),
    "uint16": (gdal.GDT_UInt16, np.uint16, [], None),
    "int16": (gdal.GDT_Int16, np.int16, [], None),
    "uint32": (gdal.GDT_UInt32, np.uint32, [], None),
    "int32": (gdal.GDT_Int32, np.int32, [], None),
    "float32": (gdal.GDT_Float32, np.float32, [], None),
    "float64": (gdal.GDT_Float64, np.float64, [], None),
    "float16": (gdal.GDT_Float32, np.float32, ["NBITS=16"], None),
    "bit1": (gdal.GDT_Byte, np.uint8, ["NBITS=1"], None),
}
FLOATS = {"float32", "float64", "float16"}
COMPRESSIONS = ["NONE", "DEFLATE", "LZW", "ZSTD", "LZMA", "LERC", "PACKBITS"]
BLOCKS = [256, 512, 240, "strip"]
INTERLEAVES = ["PIXEL", "BAND"]


def make_data(name, bands, h, w):
    """Compressible but non-trivial values covering the type's range, NaNs in some floats."""
    yy, xx = np.mgrid[0:h, 0:w]
    out = []
    for b in range(bands):
        base = (xx * (b + 1) + yy * 3 + (xx // 17) * (yy // 13)) % 251
        noise = rng.integers(0, 5, size=(h, w))
        if name == "bit1":
            out.append(((xx // 7 + yy // 5 + b) % 2).astype(np.uint8))
        elif name in ("uint8", "int8"):
            out.append(((base + noise) % 256).astype(np.uint8))
        elif name == "uint16":
            out.append((base * 257 + noise).astype(np.uint16))
        elif name == "int16":
            out.append((base * 250 - 30000 + noise).astype(np.int16))
        elif name == "uint32":
            out.append((base.astype(np.uint64) * 16_000_000 + noise).astype(np.uint32))
        elif name == "int32":
            out.append((base.astype(np.int64) * 8_000_000 - 1_000_000_000 + noise).astype(np.int32))
        else:
            v = (base.astype(np.float64) / 7.0 - 10.0 + noise * 0.25)
            if name == "float64":
                v = v * 1e6 + 1e-9 * xx
            a = v.astype(np.float32 if name != "float64" else np.float64)
            out.append(a)
    return out


def cases():
    """The covering design: one file per (dtype, compatible compression), other axes cycled."""
    i = 0
    for name in DTYPES:
        for comp in COMPRESSIONS:
            if name == "bit1" and comp not in ("NONE", "DEFLATE", "PACKBITS", "LZW"):
                continue
            if comp == "LERC" and name in ("float16",):
                continue
            pred = 1
            if comp in ("DEFLATE", "LZW", "ZSTD", "LZMA") and name != "bit1":
                # Cycle predictors so each type meets every predictor it allows.
                options = [2, 3, 1] if name in FLOATS else [2, 1]
                pred = options[COMPRESSIONS.index(comp) % len(options)]
            for pred in [pred]:
                bands = 1 if name == "bit1" else (1, 3, 4)[i % 3]
                yield dict(
                    dtype=name, compress=comp, predictor=pred, block=BLOCKS[i % len(BLOCKS)],
                    interleave=INTERLEAVES[(i // 2) % 2] if bands > 1 else "PIXEL",
                    bigtiff=(i % 3 == 1), overviews=(i % 2 == 0), bands=bands,
                    nodata=(i % 5 == 2), sparse=(i % 7 == 3), cog=False)
                i += 1
    # uint8 RGB(A) codecs only valid for 8-bit.
    for comp, extra, bands in [
        ("JPEG", ["PHOTOMETRIC=YCBCR", "JPEG_QUALITY=80"], 3),
        ("JPEG", ["JPEG_QUALITY=90"], 3),
        ("WEBP", ["WEBP_LEVEL=80"], 3),
        ("WEBP", ["WEBP_LOSSLESS=YES"], 4),
    ]:
        yield dict(
            dtype="uint8", compress=comp, predictor=1, block=(256, 512)[i % 2], interleave="PIXEL",
            bigtiff=(i % 2 == 1), overviews=True, bands=bands, nodata=False, sparse=False, cog=False,
            extra=extra)
        i += 1
    # COG driver outputs: ghost area, IFDs before data, overviews, an internal mask.
    for name, comp, pred, block, bigtiff, mask in [
        ("uint16", "DEFLATE", 2, 256, False, False),
        ("float32", "ZSTD", 3, 512, True, False),
        ("uint8", "LZW", 2, 256, False, True),
        ("int16", "LERC", 1, 256, True, False),
    ]:
        yield dict(
            dtype=name, compress=comp, predictor=pred, block=block, interleave="PIXEL",
            bigtiff=bigtiff, overviews=True, bands=3 if mask else 2, nodata=not mask and name != "float32",
            sparse=False, cog=True, mask=mask)
        i += 1


def write_file(c, path):
    gtype, _, dopts, _ = DTYPES[c["dtype"]]
    h, w = 530, 470  # not multiples of any block size: partial edge tiles everywhere
    bands = c["bands"]
    opts = list(dopts) + ["COMPRESS=" + c["compress"], "INTERLEAVE=" + c["interleave"]]
    if c["predictor"] != 1:
        opts.append("PREDICTOR=%d" % c["predictor"])
    if c["block"] == "strip":
        opts += ["TILED=NO", "BLOCKYSIZE=%d" % (37 + bands)]
    else:
        opts += ["TILED=YES", "BLOCKXSIZE=%d" % c["block"], "BLOCKYSIZE=%d" % c["block"]]
    opts.append("BIGTIFF=" + ("YES" if c["bigtiff"] else "NO"))
    if c["sparse"]:
        opts.append("SPARSE_OK=TRUE")
    opts += c.get("extra", [])
    data = make_data(c["dtype"], bands, h, w)
    target = path if not c["cog"] else path + ".tmp.tif"
    drv = gdal.GetDriverByName("GTiff" if not c["cog"] else "MEM")
    ds = drv.Create(target if not c["cog"] else "", w, h, bands, gtype, opts if not c["cog"] else [])
    ds.SetGeoTransform([500000.0, 10.0, 0.0, 4200000.0, 0.0, -10.0])
    ds.SetProjection('EPSG:32633' if False else _wkt(32633))
    nodata = None
    if c["nodata"]:
        nodata = {"uint8": 7, "int8": 7, "bit1": 0}.get(c["dtype"], -9999 if c["dtype"] not in ("uint16", "uint32") else 9999)
        if c["dtype"] in FLOATS and c["compress"] != "LERC":
            nodata = float("nan")
        for b in range(bands):
            ds.GetRasterBand(b + 1).SetNoDataValue(nodata)
    for b in range(bands):
        arr = data[b]
        if c["dtype"] in FLOATS and c["compress"] != "LERC" and b == 0:
            arr = arr.copy()
            arr[5:9, 3:40] = np.nan
        if c["sparse"]:
            # Leave a band of blocks unwritten: they stay sparse (offset/bytecount 0).
            ds.GetRasterBand(b + 1).WriteArray(arr[: h // 2], 0, 0)
        else:
            ds.GetRasterBand(b + 1).WriteArray(arr)
    if c.get("mask"):
        ds.CreateMaskBand(gdal.GMF_PER_DATASET)
        m = np.full((h, w), 255, np.uint8)
        m[100:300, 50:400] = 0
        ds.GetRasterBand(1).GetMaskBand().WriteArray(m)
    if c["overviews"] and not c["cog"]:
        ds.BuildOverviews("NEAREST", [2, 4])
    if c["cog"]:
        cog_opts = ["COMPRESS=" + c["compress"], "BLOCKSIZE=%d" % c["block"], "OVERVIEWS=AUTO",
                    "BIGTIFF=" + ("YES" if c["bigtiff"] else "NO"), "OVERVIEW_RESAMPLING=NEAREST"]
        if c["predictor"] != 1:
            cog_opts.append("PREDICTOR=%s" % ("YES" if c["predictor"] == 2 else "FLOATING_POINT"))
        gdal.Translate(path, ds, format="COG", creationOptions=cog_opts)
    ds = None
    return h, w, nodata


def _wkt(epsg):
    from osgeo import osr
    s = osr.SpatialReference()
    s.ImportFromEPSG(epsg)
    return s.ExportToWkt()


def windows(h, w, block):
    bs = 240 if block == "strip" else block
    out = [
        [0, 0, min(200, w), min(150, h)],                 # top-left
        [w - 100, h - 77, 100, 77],                       # bottom-right corner, edge tiles
        [bs - 13, bs - 7, 40, 30],                        # straddles 4 blocks
        [w - 50, 10, 120, 64],                            # past the right edge
        [-20, h - 30, 64, 80],                            # past the left and bottom edges
        [int(rng.integers(0, w - 64)), int(rng.integers(0, h - 64)), 64, 48],
        [int(rng.integers(0, w // 2)), int(rng.integers(0, h // 2)), 160, 130],
    ]
    return out


def expect(ds, win, bands, npdtype, view):
    x, y, ww, hh = win
    mem = gdal.Translate("", ds, format="MEM", srcWin=[x, y, ww, hh], bandList=bands)
    arr = mem.ReadAsArray()
    if arr.ndim == 2:
        arr = arr[None]
    arr = arr.astype(npdtype, copy=False)
    if view is not None:
        arr = arr.view(view)
    return arr


manifest = []
n_files = 0
for k, c in enumerate(cases()):
    fname = "m%03d_%s_%s_p%d_%s_%s%s%s%s.tif" % (
        k, c["dtype"], c["compress"].lower(), c["predictor"], c["block"], c["interleave"].lower(),
        "_big" if c["bigtiff"] else "", "_ovr" if c["overviews"] else "", "_cog" if c["cog"] else "")
    path = os.path.join(OUT, fname)
    try:
        h, w, nodata = write_file(c, path)
    except RuntimeError as e:
        print("skip %s: %s" % (fname, e), file=sys.stderr)
        continue
    n_files += 1
    _, npdtype, _, view = DTYPES[c["dtype"]]
    ds = gdal.Open(path)
    bands = c["bands"]
    for j, win in enumerate(windows(h, w, c["block"])):
        band_list = list(range(1, bands + 1))
        if bands > 1 and j % 3 == 2:
            band_list = sorted(rng.choice(band_list, size=int(rng.integers(1, bands)), replace=False).tolist())
            if j % 2:
                band_list = band_list[::-1]
        arr = expect(ds, win, band_list, npdtype, view)
        name = "%s_w%d.npy" % (fname[:-4], j)
        np.save(os.path.join(OUT, "expected", name), arr)
        manifest.append(dict(file=fname, window=win, bands=band_list, overview=0, mask=False,
                             expected="expected/" + name, dtype=c["dtype"], params=c))
    novr = ds.GetRasterBand(1).GetOverviewCount()
    for level in range(1, novr + 1):
        ods = gdal.OpenEx(path, open_options=["OVERVIEW_LEVEL=%d" % (level - 1)])
        oh, ow = ods.RasterYSize, ods.RasterXSize
        for j, win in enumerate([[0, 0, min(128, ow), min(128, oh)], [ow - 40, oh - 33, 60, 50]]):
            arr = expect(ods, win, list(range(1, bands + 1)), npdtype, view)
            name = "%s_o%d_w%d.npy" % (fname[:-4], level, j)
            np.save(os.path.join(OUT, "expected", name), arr)
            manifest.append(dict(file=fname, window=win, bands=list(range(1, bands + 1)), overview=level,
                                 mask=False, expected="expected/" + name, dtype=c["dtype"], params=c))
    if c.get("mask"):
        mb = ds.GetRasterBand(1).GetMaskBand()
        for j, win in enumerate([[0, 0, 256, 256], [40, 90, 200, 150], [w - 70, h - 70, 70, 70]]):
            arr = mb.ReadAsArray(*win)[None]
            name = "%s_mask_w%d.npy" % (fname[:-4], j)
            np.save(os.path.join(OUT, "expected", name), arr)
            manifest.append(dict(file=fname, window=win, bands=[1], overview=0, mask=True,
                                 expected="expected/" + name, dtype="uint8", params=c))

with open(os.path.join(OUT, "manifest.json"), "w") as f:
    json.dump(dict(files=n_files, cases=manifest), f, indent=1)
print("gdal_matrix: %d files, %d cases in %s" % (n_files, len(manifest), OUT))
