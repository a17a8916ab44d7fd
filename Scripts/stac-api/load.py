"""Loads STAC collections and items into pgstac (run with the venv's python, see venv.sh).

  load.py [--dsn DSN] --fixture-world DIR --base-url URL   a static catalog, e.g. Catalogs/fixture-world
  load.py [--dsn DSN] --synth FILE [--synth-prefix P]      a `tandem catalog synth` FeatureCollection

Both may be given in one call. DSN defaults to $STAC_API_DSN (set by start.sh). Loading upserts,
so running it twice is harmless.

Static catalog: every collection and item reachable from DIR/catalog.json through child/item
links. The API serves items from another URL than the files, so relative hrefs (assets, `source`
links) are made absolute against URL, the address where DIR's catalog.json is served (e.g. an
nginx over Catalogs/: http://127.0.0.1:PORT/fixture-world/); the structural links (root, parent,
child, item, collection, self) are dropped, as the API writes its own.

Synth: its items name the collections sentinel-1-rtc / sentinel-2-l2a, the fixture world's ids,
so they go to P + id (default synth-sentinel-1-rtc, synth-sentinel-2-l2a), created here with
extents from the items. Their asset hrefs stay on example.invalid: they are for searching only.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import urljoin

from pypgstac.db import PgstacDB
from pypgstac.load import Loader, Methods

STRUCTURAL = {"root", "parent", "child", "item", "items", "collection", "self"}


def absolute(doc: dict, doc_url: str) -> dict:
    """Drops structural links; makes the other link and asset hrefs absolute against doc_url."""
    doc = dict(doc)
    doc["links"] = [
        {**link, "href": urljoin(doc_url, link["href"])}
        for link in doc.get("links", [])
        if link.get("rel") not in STRUCTURAL
    ]
    if "assets" in doc:
        doc["assets"] = {
            key: {**asset, "href": urljoin(doc_url, asset["href"])} for key, asset in doc["assets"].items()
        }
    return doc


def walk_static(root: Path, base_url: str):
    """Yields ("collection" | "item", document) for everything under root/catalog.json."""
    root = root.resolve()
    seen = set()

    def visit(path: Path):
        path = path.resolve()
        if path in seen:
            return
        seen.add(path)
        doc = json.loads(path.read_text())
        url = urljoin(base_url, path.relative_to(root).as_posix())
        kind = doc.get("type")
        if kind == "Collection":
            yield "collection", absolute(doc, url)
        elif kind == "Feature":
            yield "item", absolute(doc, url)
        for link in doc.get("links", []):
            if link.get("rel") in ("child", "item") and "://" not in link["href"]:
                yield from visit(path.parent / link["href"])

    yield from visit(root / "catalog.json")


def extent(items: list) -> dict:
    west = min(i["bbox"][0] for i in items)
    south = min(i["bbox"][1] for i in items)
    east = max(i["bbox"][2] for i in items)
    north = max(i["bbox"][3] for i in items)
    times = sorted(i["properties"]["datetime"] for i in items)
    return {"spatial": {"bbox": [[west, south, east, north]]}, "temporal": {"interval": [[times[0], times[-1]]]}}


def synth_collections(path: Path, prefix: str):
    features = json.loads(path.read_text())["features"]
    by_collection: dict = {}
    for item in features:
        item = dict(item)
        item["collection"] = prefix + item["collection"]
        by_collection.setdefault(item["collection"], []).append(item)
    collections = [
        {
            "type": "Collection",
            "stac_version": "1.0.0",
            "id": cid,
            "description": f"`tandem catalog synth` items of {cid[len(prefix):]} (assets are not fetchable)",
            "license": "CC0-1.0",
            "extent": extent(items),
            "links": [],
        }
        for cid, items in sorted(by_collection.items())
    ]
    return collections, [i for items in by_collection.values() for i in items]


def load(loader: Loader, name: str, collections: list, items: list) -> None:
    t = time.perf_counter()
    loader.load_collections(iter(collections), Methods.upsert)
    loader.load_items(iter(items), Methods.upsert)
    seconds = time.perf_counter() - t
    print(
        json.dumps(
            {
                "loaded": name,
                "collections": {c["id"]: sum(i["collection"] == c["id"] for i in items) for c in collections},
                "items": len(items),
                "seconds": round(seconds, 2),
            }
        )
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dsn", default=os.environ.get("STAC_API_DSN"))
    ap.add_argument("--fixture-world", type=Path)
    ap.add_argument("--base-url")
    ap.add_argument("--synth", type=Path)
    ap.add_argument("--synth-prefix", default="synth-")
    args = ap.parse_args()
    if not args.dsn:
        ap.error("--dsn or $STAC_API_DSN is required")
    if args.fixture_world and not args.base_url:
        ap.error("--fixture-world needs --base-url (where its catalog.json is served)")
    if not (args.fixture_world or args.synth):
        ap.error("nothing to load: give --fixture-world and/or --synth")

    with PgstacDB(dsn=args.dsn) as db:
        loader = Loader(db)
        if args.fixture_world:
            base_url = args.base_url if args.base_url.endswith("/") else args.base_url + "/"
            docs = list(walk_static(args.fixture_world, base_url))
            load(
                loader,
                str(args.fixture_world),
                [d for k, d in docs if k == "collection"],
                [d for k, d in docs if k == "item"],
            )
        if args.synth:
            collections, items = synth_collections(args.synth, args.synth_prefix)
            load(loader, str(args.synth), collections, items)
        # pgstac caches each where clause's count (numberMatched) for context_stats_ttl (a day):
        # a search made before this load (start.sh's readiness probe, /search?limit=1) would
        # otherwise go on answering the count it saw then, 0.
        conn = db.connect()
        conn.execute("DELETE FROM pgstac.search_wheres")
        conn.commit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
