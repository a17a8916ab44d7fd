#!/usr/bin/python3
"""Tandem against a real STAC API (stac-fastapi-pgstac on pgstac, Scripts/stac-api/): the same
items, order and pages as pystac-client for five searches, with GET and POST; the fixture world
paged completely through the API equals the static catalog (items and S1/S2 pairs); training
straight from the API works.

Usage: check-stac-api.py WORK API_URL SEARCHES.json   (TANDEM_RELEASE_BIN: the binary)
"""
import glob
import json
import os
import subprocess
import sys
import urllib.parse

WORK, API, SEARCHES = sys.argv[1], sys.argv[2], sys.argv[3]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("TANDEM_RELEASE_BIN", os.path.join(ROOT, ".build/release/tandem"))
WORLD = os.path.join(ROOT, "Catalogs", "fixture-world")
failures = []


def tandem(args):
    proc = subprocess.run([BIN] + args, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        failures.append("exit %d: tandem %s: %s" % (proc.returncode, " ".join(args)[:200],
                                                    (proc.stderr.strip().splitlines() or [""])[-1]))
    return proc


def search_args(params, method):
    args = ["--method", method]
    for key in ("collections", "ids"):
        if key in params:
            args += ["--" + key, ",".join(params[key])]
    if "bbox" in params:
        args += ["--bbox", ",".join(repr(v) for v in params["bbox"])]
    for key in ("datetime", "filter-lang"):
        if key in params:
            args += ["--" + key, params[key]]
    for key in ("query", "filter"):
        if key in params:
            value = params[key]
            args += ["--" + key, value if isinstance(value, str) else json.dumps(value)]
    if "limit" in params:
        args += ["--limit", str(params["limit"])]
    return args


def search(params, method, fmt="ids", extra=()):
    proc = tandem(["catalog", "search", API, "--format", fmt, "--json"] + search_args(params, method)
                  + list(extra))
    if proc.returncode != 0:
        return None, None
    summary = json.loads(proc.stderr.strip().splitlines()[-1])
    return proc.stdout.splitlines(), summary


# 1. The five pystac-client searches: identical ids, order, pages and numberMatched, by the
#    method pystac-client used and by the other one.
reference = json.load(open(SEARCHES))
for s in reference["searches"]:
    for method in (s["method"], "POST" if s["method"] == "GET" else "GET"):
        lines, summary = search(s["params"], method)
        if lines is None:
            continue
        ids = [l.split("/", 1)[1] for l in lines]
        what = "%s (%s)" % (s["name"], method)
        if ids != s["ids"]:
            same_set = sorted(ids) == sorted(s["ids"])
            failures.append("%s: %d ids %s pystac-client's %d" % (
                what, len(ids), "in another order than" if same_set else "differ from", len(s["ids"])))
        if summary["pages"] != s["pages"]:
            failures.append("%s: %d pages, pystac-client %d" % (what, summary["pages"], s["pages"]))
        if summary.get("number_matched") != s["numberMatched"]:
            failures.append("%s: numberMatched %s, pystac-client %s" % (
                what, summary.get("number_matched"), s["numberMatched"]))
    print("stac-api: %-24s %5d items, %3d pages: same as pystac-client (GET and POST)" % (
        s["name"], len(s["ids"]), s["pages"]))

# 1b. The same searches given as a /search URL with a query string and no search options (the
#     URL pystac-client sent for its GET searches, urlencode of the parameters for the others):
#     the URL's parameters make the search, by GET and by POST; an option replaces one of them.
def as_query(params):
    items = []
    for key, value in params.items():
        if isinstance(value, list):
            value = ",".join(repr(v) if isinstance(v, float) else str(v) for v in value)
        elif isinstance(value, dict):
            value = json.dumps(value)
        items.append((key, str(value)))
    return urllib.parse.urlencode(items)


for s in reference["searches"]:
    url = s["request"] if s["method"] == "GET" else API.rstrip("/") + "/search?" + as_query(s["params"])
    for method in ("GET", "POST"):
        proc = tandem(["catalog", "search", url, "--format", "ids", "--json", "--method", method])
        if proc.returncode != 0:
            continue
        ids = [l.split("/", 1)[1] for l in proc.stdout.splitlines()]
        if ids != s["ids"]:
            failures.append("%s as a /search URL (%s): %d ids, pystac-client %d" % (
                s["name"], method, len(ids), len(s["ids"])))
    proc = tandem(["catalog", "search", url, "--format", "ids", "--json", "--limit", "50"])
    if proc.returncode == 0:
        ids = [l.split("/", 1)[1] for l in proc.stdout.splitlines()]
        pages = json.loads(proc.stderr.strip().splitlines()[-1])["pages"]
        if ids != s["ids"] or pages not in (max(1, -(-len(ids) // 50)), -(-len(ids) // 50) + 1):
            failures.append("%s as a /search URL with --limit 50: %d ids in %d pages" % (
                s["name"], len(ids), pages))
print("stac-api: the five searches as /search URLs (GET, POST, with --limit 50) = pystac-client")

# 2. The fixture world through the API, paged in sevens, equals the static catalog.
static_ids = set()
for path in glob.glob(os.path.join(WORLD, "*", "*", "*.json")):
    doc = json.load(open(path))
    if doc.get("type") == "Feature":
        static_ids.add("%s/%s" % (doc["collection"], doc["id"]))
collections = sorted({i.split("/")[0] for i in static_ids})
for method in ("GET", "POST"):
    lines, summary = search({"collections": collections, "limit": 7}, method)
    if lines is not None and set(lines) != static_ids:
        failures.append("fixture world via %s: %d items, the static catalog has %d" % (
            method, len(lines), len(static_ids)))
    if lines is not None and len(lines) != len(set(lines)):
        failures.append("fixture world via %s: duplicate items" % method)
print("stac-api: fixture world    %5d items in pages of 7 (GET and POST) = the static catalog" % len(static_ids))


def pair_keys(lines):
    return sorted((p["s1"]["id"], p["s2"]["id"], round(p["dt_hours"], 6)) for p in map(json.loads, lines))


static = tandem(["catalog", "pairs", os.path.join(WORLD, "catalog.json"), "--max-days", "6"])
lines, _ = search({"collections": ["sentinel-1-rtc", "sentinel-2-l2a"], "limit": 10}, "POST", "pairs",
                  ["--max-days", "6"])
if static.returncode == 0 and lines is not None:
    if pair_keys(lines) != pair_keys(static.stdout.splitlines()):
        failures.append("pairs via the API (%d) differ from the static catalog's (%d)" % (
            len(lines), len(static.stdout.splitlines())))
    else:
        print("stac-api: pairs            %5d S1/S2 pairs = the static catalog's" % len(lines))

# The 10,000 generated items paged through the API (POST, 100 pages) pair exactly as the static
# file they were loaded from.
SYNTH = os.path.join(WORK, "synth.json")
static = tandem(["catalog", "pairs", SYNTH, "--max-days", "3"])
lines, summary = search({"collections": ["synth-sentinel-1-rtc", "synth-sentinel-2-l2a"], "limit": 100},
                        "POST", "pairs", ["--max-days", "3"])
if static.returncode == 0 and lines is not None:
    if not lines or pair_keys(lines) != pair_keys(static.stdout.splitlines()):
        failures.append("synth pairs via the API (%d) differ from the static file's (%d)" % (
            len(lines), len(static.stdout.splitlines())))
    else:
        print("stac-api: synth pairs      %5d S1/S2 pairs from %d pages = the static file's" % (
            len(lines), summary["pages"]))

# 3. Training straight from the API (no static file), the search stored with the run.
run = os.path.join(WORK, "stac-api-train")
proc = tandem(["train", "--catalog", API, "--collections", "sentinel-1-rtc,sentinel-2-l2a",
               "--limit", "5", "--model", "tiny", "--size", "32", "--batch", "4", "--steps", "2",
               "--warmup", "1", "--max-days", "6", "--blas-threads", "1", "--quiet", "--out", run])
if proc.returncode == 0:
    config = json.load(open(os.path.join(run, "config.json")))
    if config.get("search", {}).get("collections") != ["sentinel-1-rtc", "sentinel-2-l2a"]:
        failures.append("train: config.json does not hold the search: %s" % config.get("search"))
    else:
        print("stac-api: train from the API: 2 steps, search stored in config.json")

if failures:
    print("stac-api: %d failure(s)" % len(failures), file=sys.stderr)
    for f in failures[:40]:
        print("  " + f, file=sys.stderr)
    sys.exit(1)
print("stac-api: Tandem pages a real STAC API exactly as pystac-client does")
