"""Validates fixture-world catalogs with GDAL and the STAC JSON schemas.

Usage: check-fixtures.py SCHEMA_DIR CATALOG.json [CATALOG.json ...]

Run with an interpreter that has both GDAL's Python binding (`osgeo`) and `jsonschema`, e.g. a venv
created from /usr/bin/python3 with --system-site-packages (check-fixtures.sh does this).

For every catalog it walks child/item links from the root and checks:
  * each Catalog, Collection and Item against the vendored STAC 1.0.0 core schemas, and each Item
    against the schema of every extension it declares (eo, sar, sat, projection, label);
  * every link and asset href resolves to an existing file;
  * every GeoTIFF asset: the georeferencing GDAL reads (EPSG, geotransform, size, footprint in
    lon/lat) matches the item's proj:epsg, proj:transform, proj:shape and bbox; for assets typed
    `profile=cloud-optimized`, GDAL also reports LAYOUT=COG and GDAL's COG validator (full check:
    tile leaders and trailers) finds no error or warning;
  * S2 items: eo:cloud_cover equals the cloud fraction of the SCL asset decoded by GDAL.
Exits 1 with one line per problem, 0 when everything passes.
"""

import json
import os
import sys

from osgeo import gdal, osr
from osgeo_utils.samples import validate_cloud_optimized_geotiff as cogcheck
import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

gdal.UseExceptions()

STAC = "https://schemas.stacspec.org/v1.0.0/"
EXTENSIONS = {
    "https://stac-extensions.github.io/eo/v1.0.0/schema.json": "extensions/eo-v1.0.0.json",
    "https://stac-extensions.github.io/sar/v1.0.0/schema.json": "extensions/sar-v1.0.0.json",
    "https://stac-extensions.github.io/sat/v1.0.0/schema.json": "extensions/sat-v1.0.0.json",
    "https://stac-extensions.github.io/projection/v1.0.0/schema.json": "extensions/projection-v1.0.0.json",
    "https://stac-extensions.github.io/label/v1.0.0/schema.json": "extensions/label-v1.0.0.json",
}
CLOUD_CLASSES = {8, 9, 10}


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def registries(schema_dir):
    """Two registries: the released 1.0.0 item schema, and the mirror set (catalog, collection and
    the item schema they reference, which defines `links`). Both share sub-schemas and GeoJSON."""
    shared = {}
    for name in ["basics", "datetime", "instrument", "licensing", "provider"]:
        shared[STAC + f"item-spec/json-schema/{name}.json"] = f"stac-spec/v1.0.0/item-spec/json-schema/{name}.json"
    shared["https://geojson.org/schema/Feature.json"] = "geojson/Feature.json"
    shared["https://geojson.org/schema/Geometry.json"] = "geojson/Geometry.json"
    shared.update(EXTENSIONS)
    release = dict(shared)
    release[STAC + "item-spec/json-schema/item.json"] = "stac-spec/v1.0.0/item-spec/json-schema/item.json"
    mirror = dict(shared)
    for rel in ["item-spec/json-schema/item.json", "item-spec/json-schema/common.json",
                "item-spec/json-schema/bands.json", "item-spec/json-schema/data-values.json",
                "catalog-spec/json-schema/catalog.json", "collection-spec/json-schema/collection.json"]:
        mirror[STAC + rel] = "stac-spec/mirror/" + rel
    # bands.json declares a 1.1.0-beta.1 $id; its relative reference to common.json resolves there.
    mirror["https://schemas.stacspec.org/v1.1.0-beta.1/item-spec/json-schema/common.json"] = (
        "stac-spec/mirror/item-spec/json-schema/common.json")

    def build(mapping):
        resources = []
        for url, rel in mapping.items():
            contents = load(os.path.join(schema_dir, rel))
            resources.append((url, Resource.from_contents(contents, default_specification=DRAFT7)))
        return Registry().with_resources(resources)

    return build(release), build(mirror)


def validator(registry, url):
    schema = registry.contents(url)
    return jsonschema.Draft7Validator(schema, registry=registry)


class Checker:
    def __init__(self, schema_dir):
        self.release, self.mirror = registries(schema_dir)
        self.item_release = validator(self.release, STAC + "item-spec/json-schema/item.json")
        self.item_mirror = validator(self.mirror, STAC + "item-spec/json-schema/item.json")
        self.catalog = validator(self.mirror, STAC + "catalog-spec/json-schema/catalog.json")
        self.collection = validator(self.mirror, STAC + "collection-spec/json-schema/collection.json")
        self.extensions = {url: validator(self.release, url) for url in EXTENSIONS}
        self.errors = []
        self.counts = {"Catalog": 0, "Collection": 0, "Feature": 0, "tiff": 0, "cog": 0}

    def error(self, where, what):
        self.errors.append(f"{where}: {what}")

    def schema(self, v, doc, path, label):
        for e in sorted(v.iter_errors(doc), key=lambda e: list(e.path)):
            pointer = "/".join(str(p) for p in e.path)
            self.error(path, f"{label}: /{pointer}: {e.message[:300]}")

    def walk(self, path, seen):
        path = os.path.normpath(path)
        if path in seen:
            return
        seen.add(path)
        if not os.path.exists(path):
            self.error(path, "linked file does not exist")
            return
        doc = load(path)
        kind = doc.get("type")
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if kind == "Catalog":
            self.schema(self.catalog, doc, path, "catalog schema")
        elif kind == "Collection":
            self.schema(self.collection, doc, path, "collection schema")
        elif kind == "Feature":
            self.schema(self.item_release, doc, path, "item schema (1.0.0 release)")
            self.schema(self.item_mirror, doc, path, "item schema (1.0.0 mirror)")
            for url in doc.get("stac_extensions", []):
                if url not in self.extensions:
                    self.error(path, f"extension without vendored schema: {url}")
                    continue
                self.schema(self.extensions[url], doc, path, f"extension {url}")
            self.check_item(path, doc)
        else:
            self.error(path, f"unknown STAC type {kind!r}")
        base = os.path.dirname(path)
        for link in doc.get("links", []):
            href = link.get("href", "")
            if "://" in href:
                continue
            target = os.path.normpath(os.path.join(base, href))
            if not os.path.exists(target):
                self.error(path, f"link {link.get('rel')} -> {href} does not exist")
            elif link.get("rel") in ("child", "item"):
                self.walk(target, seen)

    def check_item(self, path, item):
        props = item["properties"]
        base = os.path.dirname(path)
        epsg = props.get("proj:epsg")
        transform = props.get("proj:transform")
        shape = props.get("proj:shape")
        for key, asset in item.get("assets", {}).items():
            href = os.path.normpath(os.path.join(base, asset["href"]))
            if not os.path.exists(href):
                self.error(path, f"asset {key} -> {asset['href']} does not exist")
                continue
            if not href.endswith(".tif"):
                continue
            self.counts["tiff"] += 1
            cloud_optimized = "profile=cloud-optimized" in asset.get("type", "")
            self.check_tiff(href, epsg, transform, shape, item.get("bbox"), cloud_optimized)
        if "eo:cloud_cover" in props and "SCL" in item.get("assets", {}):
            scl = gdal.Open(os.path.join(base, item["assets"]["SCL"]["href"]))
            data = scl.GetRasterBand(1).ReadRaster()
            clouds = sum(1 for b in data if b in CLOUD_CLASSES)
            fraction = 100.0 * clouds / len(data)
            if abs(fraction - props["eo:cloud_cover"]) > 0.005:
                self.error(path, f"eo:cloud_cover {props['eo:cloud_cover']} but SCL says {fraction:.4f}")

    def check_tiff(self, path, epsg, transform, shape, bbox, cloud_optimized):
        ds = gdal.Open(path)
        if cloud_optimized:
            self.counts["cog"] = self.counts.get("cog", 0) + 1
            layout = ds.GetMetadataItem("LAYOUT", "IMAGE_STRUCTURE")
            if layout != "COG":
                self.error(path, f"IMAGE_STRUCTURE LAYOUT is {layout!r}, not COG")
            warnings, errors, _ = cogcheck.validate(ds, full_check=True)
            for e in errors:
                self.error(path, f"COG validator error: {e}")
            for w in warnings:
                self.error(path, f"COG validator warning: {w}")
        srs = ds.GetSpatialRef()
        got_epsg = int(srs.GetAuthorityCode(None)) if srs is not None and srs.GetAuthorityCode(None) else None
        if got_epsg != epsg:
            self.error(path, f"GDAL EPSG {got_epsg} != proj:epsg {epsg}")
        gt = ds.GetGeoTransform()
        expected = (transform[2], transform[0], transform[1], transform[5], transform[3], transform[4])
        if any(abs(a - b) > 1e-9 for a, b in zip(gt, expected)):
            self.error(path, f"GDAL geotransform {gt} != proj:transform {transform}")
        if [ds.RasterYSize, ds.RasterXSize] != shape:
            self.error(path, f"size {ds.RasterXSize}x{ds.RasterYSize} != proj:shape {shape}")
        # Footprint in lon/lat from PROJ, edges densified like the catalog writer.
        wgs84 = osr.SpatialReference()
        wgs84.ImportFromEPSG(4326)
        wgs84.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        ct = osr.CoordinateTransformation(srs, wgs84)
        w = gt[1] * ds.RasterXSize
        h = gt[5] * ds.RasterYSize
        lons, lats = [], []
        for k in range(9):
            t = k / 8
            for x, y in [(gt[0] + t * w, gt[3]), (gt[0] + t * w, gt[3] + h),
                         (gt[0], gt[3] + t * h), (gt[0] + w, gt[3] + t * h)]:
                lon, lat, _ = ct.TransformPoint(x, y)
                lons.append(lon)
                lats.append(lat)
        proj_bbox = [min(lons), min(lats), max(lons), max(lats)]
        # 1e-7 degrees is about 1 cm.
        if bbox is None or any(abs(a - b) > 1e-7 for a, b in zip(proj_bbox, bbox)):
            self.error(path, f"bbox {bbox} differs from PROJ footprint {proj_bbox}")


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 64
    checker = Checker(sys.argv[1])
    for root in sys.argv[2:]:
        before = dict(checker.counts)
        checker.walk(root, set())
        done = {k: checker.counts[k] - before.get(k, 0) for k in checker.counts}
        print(f"{root}: {done['Catalog']} catalog(s), {done['Collection']} collection(s), "
              f"{done['Feature']} item(s), {done['tiff']} GeoTIFF(s) georeferencing-checked, "
              f"{done['cog']} of them COG-validated")
    for e in checker.errors:
        print("FAIL " + e)
    if checker.errors:
        print(f"{len(checker.errors)} problem(s)")
        return 1
    print("all STAC documents valid (core + eo/sar/sat/projection/label), all cloud-optimized GeoTIFFs pass GDAL's COG validator, all "
          "GeoTIFFs match the catalog's georeferencing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
