"""Checks pystac_search.py's output against the loaded data, searched here without the server.

  check_searches.py SEARCHES.json FIXTURE_DIR SYNTH.json [--synth-prefix P]

Per search: the ids are the expected set (collections, bbox, datetime, query, cql2-json filter
evaluated on the source documents), none twice, newest first (pgstac's default sort); every page
but the last is full; numberMatched, where given, is the count. Prints one line per search and
exits 1 on any mismatch.
"""

import argparse
import json
import math
import sys
from datetime import datetime
from pathlib import Path


def ts(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def fixture_items(root: Path) -> list:
    items = []
    for path in sorted(root.glob("*/*/*.json")):
        doc = json.loads(path.read_text())
        if doc.get("type") == "Feature":
            items.append(doc)
    return items


def synth_items(path: Path, prefix: str) -> list:
    items = json.loads(path.read_text())["features"]
    return [{**i, "collection": prefix + i["collection"]} for i in items]


def value(item: dict, prop: str):
    return item.get(prop) if prop in ("id", "collection") else item["properties"].get(prop)


COMPARE = {
    "eq": lambda a, b: a == b, "=": lambda a, b: a == b,
    "neq": lambda a, b: a != b, "<>": lambda a, b: a != b,
    "lt": lambda a, b: a < b, "<": lambda a, b: a < b,
    "lte": lambda a, b: a <= b, "<=": lambda a, b: a <= b,
    "gt": lambda a, b: a > b, ">": lambda a, b: a > b,
    "gte": lambda a, b: a >= b, ">=": lambda a, b: a >= b,
}  # fmt: skip


def cql2(item: dict, node: dict) -> bool:
    """The cql2-json subset the searches use: and, or, not and comparisons of a property."""
    op, args = node["op"], node["args"]
    if op == "and":
        return all(cql2(item, a) for a in args)
    if op == "or":
        return any(cql2(item, a) for a in args)
    if op == "not":
        return not cql2(item, args[0])
    v = value(item, args[0]["property"])
    return v is not None and COMPARE[op](v, args[1])


def matches(item: dict, p: dict) -> bool:
    if "collections" in p and item["collection"] not in p["collections"]:
        return False
    if "bbox" in p:
        w, s, e, n = p["bbox"]
        iw, is_, ie, in_ = item["bbox"]
        if iw > e or ie < w or is_ > n or in_ < s:
            return False
    if "datetime" in p:
        start, end = (None if x in ("", "..") else ts(x) for x in p["datetime"].split("/"))
        t = ts(item["properties"]["datetime"])
        if (start and t < start) or (end and t > end):
            return False
    for prop, ops in p.get("query", {}).items():
        v = value(item, prop)
        if v is None or not all(COMPARE[op](v, arg) for op, arg in ops.items()):
            return False
    if "filter" in p and not cql2(item, p["filter"]):
        return False
    return True


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("searches", type=Path)
    ap.add_argument("fixture_world", type=Path)
    ap.add_argument("synth", type=Path)
    ap.add_argument("--synth-prefix", default="synth-")
    args = ap.parse_args()
    items = fixture_items(args.fixture_world) + synth_items(args.synth, args.synth_prefix)
    by_id = {i["id"]: i for i in items}
    failed = 0
    for s in json.loads(args.searches.read_text())["searches"]:
        p, ids, problems = s["params"], s["ids"], []
        expected = {i["id"] for i in items if matches(i, p)}
        if set(ids) != expected:
            problems.append(f"{len(set(ids) - expected)} unexpected, {len(expected - set(ids))} missing")
        if len(set(ids)) != len(ids):
            problems.append(f"{len(ids) - len(set(ids))} ids twice")
        times = [ts(by_id[i]["properties"]["datetime"]) for i in ids if i in by_id]
        if any(a < b for a, b in zip(times, times[1:])):
            problems.append("not newest first")
        sizes = s["page_sizes"]
        if any(n != p["limit"] for n in sizes[:-1]) or s["pages"] != max(1, math.ceil(len(ids) / p["limit"])):
            problems.append(f"pages {sizes}")
        if s["numberMatched"] is not None and s["numberMatched"] != len(expected):
            problems.append(f"numberMatched {s['numberMatched']} != {len(expected)}")
        status = "ok" if not problems else "FAIL " + "; ".join(problems)
        print(f"  {s['name']}: {len(ids)}/{len(expected)} items, {s['pages']} pages, {s['seconds']} s: {status}")
        failed += bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
