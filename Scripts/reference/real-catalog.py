"""Builds Catalogs/real/: copies the Sen1Floods11 chip and a few real STAC documents from the
shared realdata folder and writes a small STAC catalog (relative hrefs) describing the chip.

Usage: /usr/bin/python3 Scripts/reference/real-catalog.py REALDATA_DIR OUT_DIR
(needs GDAL's Python binding for the chip's georeferencing). Run once; the output is committed.
"""

import json
import os
import shutil
import sys

from osgeo import gdal

gdal.UseExceptions()

COPIES = [
    "sen1floods11/Spain_7370579_S1Hand.tif",
    "sen1floods11/Spain_7370579_S2Hand.tif",
    "sen1floods11/Spain_7370579_LabelHand.tif",
    "sen1floods11/Spain_7370579_S1.png",
    "sen1floods11/Spain_7370579_Label.png",
    "sen1floods11/Sen1Floods11_Metadata.geojson",
    "stac/s1/mspc-s1-rtc-S1A_IW_GRDH_20240325T055038_rtc.json",
    "stac/s1/pc-sentinel-1-rtc-items-array.json",
    "stac/s2/earth-search-v0-S2A_28QCH_20200714_0_L2A.json",
    "stac/s2/pc-S2B_T06VVN_20190629_raster_ext.json",
    "stac/catalogs/pc-sentinel-2-l2a.collection.json",
]
S2_BANDS = [
    ("B1", "coastal", 0.443), ("B2", "blue", 0.49), ("B3", "green", 0.56), ("B4", "red", 0.665),
    ("B5", "rededge", 0.705), ("B6", "rededge", 0.74), ("B7", "rededge", 0.783), ("B8", "nir", 0.842),
    ("B8A", "nir08", 0.865), ("B9", "nir09", 0.945), ("B10", "cirrus", 1.375), ("B11", "swir16", 1.61),
    ("B12", "swir22", 2.19),
]


def write(path, doc):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


def link(rel, href, title=None):
    out = {"rel": rel, "href": href, "type": "application/json"}
    if title:
        out["title"] = title
    return out


def main(realdata, out):
    for rel in COPIES:
        src = os.path.join(realdata, rel)
        dst = os.path.join(out, rel.replace("sen1floods11/", "sen1floods11/Spain_7370579/"))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(src, dst)
    chip = os.path.join(out, "sen1floods11/Spain_7370579")
    ds = gdal.Open(os.path.join(chip, "Spain_7370579_S1Hand.tif"))
    gt = ds.GetGeoTransform()
    w, h = ds.RasterXSize, ds.RasterYSize
    west, north = gt[0], gt[3]
    east, south = gt[0] + gt[1] * w, gt[3] + gt[5] * h
    cog = "image/tiff; application=geotiff"
    item = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [
            "https://stac-extensions.github.io/sar/v1.0.0/schema.json",
            "https://stac-extensions.github.io/sat/v1.0.0/schema.json",
            "https://stac-extensions.github.io/eo/v1.0.0/schema.json",
            "https://stac-extensions.github.io/label/v1.0.0/schema.json",
            "https://stac-extensions.github.io/projection/v1.0.0/schema.json",
        ],
        "id": "Spain_7370579",
        "collection": "sen1floods11-hand-labeled",
        "geometry": {"type": "Polygon", "coordinates": [[[west, north], [west, south], [east, south], [east, north], [west, north]]]},
        "bbox": [west, south, east, north],
        "properties": {
            "datetime": None,
            "start_datetime": "2019-09-17T00:00:00Z",
            "end_datetime": "2019-09-18T23:59:59Z",
            "title": "Sen1Floods11 hand-labelled chip Spain_7370579 (flood of September 2019)",
            "sar:instrument_mode": "IW",
            "sar:frequency_band": "C",
            "sar:polarizations": ["VV", "VH"],
            "sar:product_type": "GRD",
            "sat:orbit_state": "descending",
            "sat:relative_orbit": 110,
            "label:properties": None,
            "label:description": "Hand-labelled surface water: 1 water, 0 not water, -1 no data",
            "label:type": "raster",
            "label:tasks": ["segmentation"],
            "label:methods": ["manual"],
            "label:classes": [{"name": "water", "classes": [-1, 0, 1]}],
            "proj:epsg": 4326,
            "proj:shape": [h, w],
            "proj:transform": [gt[1], gt[2], gt[0], gt[4], gt[5], gt[3]],
            "sen1floods11:s1_date": "2019-09-17",
            "sen1floods11:s2_date": "2019-09-18",
        },
        "links": [
            link("root", "../../catalog.json"),
            link("parent", "../collection.json"),
            link("collection", "../collection.json"),
        ],
        "assets": {
            "S1Hand": {
                "href": "./Spain_7370579_S1Hand.tif", "type": cog, "roles": ["data"],
                "title": "Sentinel-1 GRD sigma0 in dB, band 1 VV, band 2 VH (float32, NaN nodata), 2019-09-17",
            },
            "S2Hand": {
                "href": "./Spain_7370579_S2Hand.tif", "type": cog, "roles": ["data"],
                "title": "Sentinel-2 L1C top-of-atmosphere reflectance x10000, 13 bands (int16), 2019-09-18",
                "eo:bands": [{"name": n, "common_name": c, "center_wavelength": wl} for n, c, wl in S2_BANDS],
            },
            "LabelHand": {
                "href": "./Spain_7370579_LabelHand.tif", "type": cog, "roles": ["labels", "labels-raster"],
                "title": "Hand label (int16): 1 water, 0 not water, -1 no data",
            },
            "preview-s1": {"href": "./Spain_7370579_S1.png", "type": "image/png", "roles": ["overview"]},
            "preview-label": {"href": "./Spain_7370579_Label.png", "type": "image/png", "roles": ["overview"]},
            "events": {
                "href": "./Sen1Floods11_Metadata.geojson", "type": "application/geo+json", "roles": ["metadata"],
                "title": "Sen1Floods11 event metadata (dates, orbits) for all 12 events",
            },
        },
    }
    write(os.path.join(chip, "Spain_7370579.json"), item)
    collection = {
        "type": "Collection",
        "stac_version": "1.0.0",
        "stac_extensions": [],
        "id": "sen1floods11-hand-labeled",
        "title": "Sen1Floods11 hand-labelled chip (one sample)",
        "description": "One chip of Sen1Floods11 v1.0 (Bonafilia et al., CVPR Workshops 2020): co-registered Sentinel-1 (dB), Sentinel-2 L1C and a hand-labelled water mask, copied from github.com/cloudtostreet/Sen1Floods11 (sample/). The source repository states no licence; the dataset is commonly distributed under CC-BY-4.0. Cite the paper when using it.",
        "license": "proprietary",
        "extent": {
            "spatial": {"bbox": [[west, south, east, north]]},
            "temporal": {"interval": [["2019-09-17T00:00:00Z", "2019-09-18T23:59:59Z"]]},
        },
        "links": [
            link("root", "../catalog.json"),
            link("parent", "../catalog.json"),
            link("item", "./Spain_7370579/Spain_7370579.json"),
            {"rel": "license", "href": "https://github.com/cloudtostreet/Sen1Floods11", "type": "text/html",
             "title": "Source repository (no licence file; see SOURCES.md)"},
        ],
    }
    write(os.path.join(out, "sen1floods11/collection.json"), collection)
    catalog = {
        "type": "Catalog",
        "stac_version": "1.0.0",
        "stac_extensions": [],
        "id": "tandem-real",
        "title": "Real Sentinel data bundled with Tandem",
        "description": "The Sen1Floods11 chip Spain_7370579 as a static STAC catalog with relative hrefs. Real STAC documents from public catalogs are kept beside it under stac/ (not linked: their assets live in the cloud).",
        "links": [
            link("root", "./catalog.json"),
            link("child", "./sen1floods11/collection.json", "Sen1Floods11 hand-labelled chip"),
        ],
    }
    write(os.path.join(out, "catalog.json"), catalog)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
