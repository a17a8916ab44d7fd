"""Runs five searches with pystac-client against a STAC API and writes what came back.

  pystac_search.py URL OUTFILE      (the venv's python, see venv.sh; data from load.py)

OUTFILE (JSON): {"url", "client", "searches": [{"name", "method", "params", "request", "ids",
"pages", "page_sizes", "numberMatched", "seconds"}]}. `params` are the search's parameters as
given to pystac-client (method, collections, bbox, datetime, query, filter, filter-lang, limit),
so another client can issue the same search; `request` is what pystac-client sent for the first
page (the GET URL, or the POST body); `ids` are every page's item ids in the order returned;
`numberMatched` is the first page's (null where the server gives none).
"""

import json
import sys
import time
from importlib.metadata import version

from pystac_client import Client

# Over the fixture world (load.py --fixture-world) and the synth set (load.py --synth).
SEARCHES = [
    {
        "name": "fixture-s2-all",
        "method": "GET",
        "collections": ["sentinel-2-l2a"],
        "limit": 5,
    },
    {
        # t00–t02 (t03 is at 7.4° E), 5 April – 20 June 2024.
        "name": "fixture-bbox-datetime",
        "method": "GET",
        "collections": ["sentinel-1-rtc", "sentinel-2-l2a"],
        "bbox": [2.0, 48.5, 2.5, 49.0],
        "datetime": "2024-04-05T00:00:00Z/2024-06-20T00:00:00Z",
        "limit": 4,
    },
    {
        "name": "synth-10k-post",
        "method": "POST",
        "collections": ["synth-sentinel-1-rtc", "synth-sentinel-2-l2a"],
        "limit": 100,
    },
    {
        # The query extension over GET: pystac-client sends `query` as a JSON string.
        "name": "synth-query-cloud",
        "method": "GET",
        "collections": ["synth-sentinel-2-l2a"],
        "query": {"eo:cloud_cover": {"lt": 30}},
        "limit": 250,
    },
    {
        "name": "synth-filter-cql2-json",
        "method": "POST",
        "collections": ["synth-sentinel-1-rtc"],
        "filter-lang": "cql2-json",
        "filter": {
            "op": "and",
            "args": [
                {"op": "=", "args": [{"property": "sat:orbit_state"}, "descending"]},
                {"op": "<", "args": [{"property": "proj:epsg"}, 32630]},
            ],
        },
        "limit": 200,
    },
]


def run(client: Client, spec: dict) -> dict:
    params = {k: v for k, v in spec.items() if k != "name"}
    kwargs = {k.replace("-", "_"): v for k, v in params.items()}
    search = client.search(**kwargs, max_items=None)
    request = search.url_with_parameters() if spec["method"] == "GET" else search.get_parameters()
    t = time.perf_counter()
    ids, sizes, matched = [], [], None
    for page in search.pages_as_dicts():
        if not sizes:
            matched = page.get("numberMatched", page.get("context", {}).get("matched"))
        sizes.append(len(page["features"]))
        ids.extend(f["id"] for f in page["features"])
    seconds = time.perf_counter() - t
    return {
        "name": spec["name"],
        "method": spec["method"],
        "params": params,
        "request": request,
        "ids": ids,
        "pages": len(sizes),
        "page_sizes": sizes,
        "numberMatched": matched,
        "seconds": round(seconds, 3),
    }


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    url, out = sys.argv[1], sys.argv[2]
    client = Client.open(url)
    results = [run(client, spec) for spec in SEARCHES]
    with open(out, "w") as f:
        json.dump({"url": url, "client": f"pystac-client {version('pystac-client')}", "searches": results}, f, indent=1)
    for r in results:
        print(
            f"{r['name']}: {len(r['ids'])} items in {r['pages']} pages ({r['method']}, limit {r['params']['limit']}),"
            f" numberMatched {r['numberMatched']}, {r['seconds']} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
