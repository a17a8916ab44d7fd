#!/usr/bin/python3
"""Expected values for the real TIFF fixtures, made with GDAL (run with /usr/bin/python3).

For every file in Tests/GeoTIFFTests/Fixtures/tiff/ writes into Fixtures/expected/: GDAL's view of
the file (size, bands, data type, EPSG, geotransform, nodata, overviews, GCPs, mask) in
expected.json, and small .npy windows: top-left, one past the bottom-right edge, overview 1 and
the mask when present. Files GDAL cannot read, or whose type Tandem rejects, are listed with
"gdal_error" / left for the bad-input tests. Usage: Scripts/reference/real_tiffs.py
"""
import glob
import json
import os

import numpy as np
from osgeo import gdal, osr

gdal.UseExceptions()
gdal.PushErrorHandler("CPLQuietErrorHandler")
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
FIX = os.path.join(ROOT, "Tests", "GeoTIFFTests", "Fixtures")
OUT = os.path.join(FIX, "expected")
os.makedirs(OUT, exist_ok=True)
for old in glob.glob(os.path.join(OUT, "*.npy")):
    os.remove(old)

TYPES = {gdal.GDT_Byte: "uint8", gdal.GDT_UInt16: "uint16", gdal.GDT_Int16: "int16",
         gdal.GDT_UInt32: "uint32", gdal.GDT_Int32: "int32", gdal.GDT_Float32: "float32",
         gdal.GDT_Float64: "float64"}
entries = []
for path in sorted(glob.glob(os.path.join(FIX, "tiff", "*"))):
    name = os.path.basename(path)
    e = {"file": name}
    try:
        ds = gdal.Open(path)
        b1 = ds.GetRasterBand(1)
        dtype = TYPES.get(b1.DataType, str(b1.DataType))
        if b1.GetMetadataItem("PIXELTYPE", "IMAGE_STRUCTURE") == "SIGNEDBYTE":
            dtype = "int8"
        if b1.GetMetadataItem("NBITS", "IMAGE_STRUCTURE") == "16" and dtype == "float32":
            dtype = "float16"
        srs = ds.GetSpatialRef()
        epsg = None
        if srs is not None:
            code = srs.GetAuthorityCode(None)
            epsg = int(code) if code else None
        gt = ds.GetGeoTransform(can_return_null=True)
        e.update(width=ds.RasterXSize, height=ds.RasterYSize, bands=ds.RasterCount, dtype=dtype,
                 epsg=epsg, geotransform=list(gt) if gt else None,
                 nodata=None if b1.GetNoDataValue() is None else repr(b1.GetNoDataValue()),
                 overviews=[[b1.GetOverview(i).XSize, b1.GetOverview(i).YSize]
                            for i in range(b1.GetOverviewCount())],
                 gcps=ds.GetGCPCount(),
                 mask=b1.GetMaskFlags() == gdal.GMF_PER_DATASET)
        w, h = ds.RasterXSize, ds.RasterYSize
        wins = [("tl", 0, [0, 0, min(w, 64), min(h, 48)]),
                ("edge", 0, [max(w - 20, 0), max(h - 10, 0), 40, 30])]
        largest = None
        if b1.GetOverviewCount():
            # Tandem numbers overviews largest first; GDAL keeps file order (SubIFDs may differ).
            largest = max(range(b1.GetOverviewCount()), key=lambda i: b1.GetOverview(i).XSize)
            o = b1.GetOverview(largest)
            wins.append(("ovr1", 1, [0, 0, min(o.XSize, 32), min(o.YSize, 32)]))
        cases = []
        for tag, level, win in wins:
            src = ds if level == 0 else gdal.OpenEx(path, open_options=["OVERVIEW_LEVEL=%d" % largest])
            arr = gdal.Translate("", src, format="MEM", srcWin=win).ReadAsArray()
            if arr.ndim == 2:
                arr = arr[None]
            if dtype == "int8":
                arr = arr.astype(np.uint8).view(np.int8)
                nd = b1.GetNoDataValue()
                if nd is not None and nd < 0:
                    # GDAL 3.6 treats signed bytes as Byte and fills outside the image with 0 when
                    # nodata is negative; Tandem (like GDAL >= 3.7 with Int8) fills with nodata.
                    x, y, ww, hh = win
                    inside = np.zeros((hh, ww), bool)
                    inside[max(0, -y):max(0, min(hh, src.RasterYSize - y)),
                           max(0, -x):max(0, min(ww, src.RasterXSize - x))] = True
                    arr = arr.copy()
                    arr[:, ~inside] = int(nd)
            fn = "%s_%s.npy" % (name, tag)
            np.save(os.path.join(OUT, fn), arr)
            cases.append({"window": win, "overview": level, "expected": fn, "mask": False})
        if e["mask"]:
            win = [0, 0, min(w, 64), min(h, 64)]
            arr = b1.GetMaskBand().ReadAsArray(*win)[None]
            fn = "%s_mask.npy" % name
            np.save(os.path.join(OUT, fn), arr)
            cases.append({"window": win, "overview": 0, "expected": fn, "mask": True})
        e["cases"] = cases
    except RuntimeError as err:
        e["gdal_error"] = str(err)
    entries.append(e)
with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(entries, f, indent=1, sort_keys=True)
print("real_tiffs: %d files" % len(entries))
