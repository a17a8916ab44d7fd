#!/usr/bin/python3
"""The shipped (release) binary over loopback nginx, against GDAL's answers.

Issue 20: the test suite runs a debug build, and a release-only miscompile made every HTTP read
that needed more than one request trap. This check runs `.build/release/tandem` (TANDEM_RELEASE_BIN)
on the paths that carry network data:

1. `tandem read` over HTTP on GDAL-written COGs big enough that one window needs several
   requests (several tile rows, coalescing off and on, multi-range on), bit-exact against GDAL;
2. every non-mask case of the GDAL matrix (WORK/www/matrix) over HTTP, bit-exact;
3. `tandem info` and `tandem fetch` (concurrent batches) over HTTP, byte-exact against the file;
4. `tandem catalog inspect`/`pairs` over HTTP against the same catalog read from disk;
5. `tandem bench read` over HTTP and `tandem train` from the nginx-served world: exit 0 and sane
   figures (timings are not asserted).

Usage: check-release-http.py WORK   (needs TANDEM_TEST_HTTP, the nginx base URL over WORK/www)
"""
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from osgeo import gdal

gdal.UseExceptions()

WORK = sys.argv[1]
BASE = os.environ["TANDEM_TEST_HTTP"]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("TANDEM_RELEASE_BIN", os.path.join(ROOT, ".build/release/tandem"))
WWW = os.path.join(WORK, "www")
OUT = tempfile.mkdtemp(prefix="release-http.", dir=WORK)
failures = []


def run(args, check=True):
    """Runs the release binary; a failure is recorded with its stderr (one line per problem)."""
    proc = subprocess.run([BIN] + args, capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-3:]
        failures.append("exit %d: tandem %s\n    %s" % (proc.returncode, " ".join(args), "\n    ".join(tail)))
    return proc


def cogs():
    """The COGs of prepare-cogs.py: (name, size)."""
    with open(os.path.join(WWW, "cogs", "list.json")) as f:
        return [(c["name"], c["size"]) for c in json.load(f)]


def compare(npy, expected, what):
    try:
        got = np.load(npy)
    except Exception as e:  # noqa: BLE001 - reported as a failure
        failures.append("%s: cannot load %s: %s" % (what, npy, e))
        return
    if got.shape != expected.shape or got.dtype != expected.dtype:
        failures.append("%s: shape/dtype %s %s, GDAL %s %s" % (what, got.shape, got.dtype, expected.shape, expected.dtype))
    elif not np.array_equal(got, expected, equal_nan=got.dtype.kind == "f"):
        failures.append("%s: pixels differ from GDAL" % what)


def gdal_window(path, x, y, w, h, overview=0):
    ds = gdal.OpenEx(path, open_options=["OVERVIEW_LEVEL=%d" % (overview - 1)] if overview else [])
    arr = ds.ReadAsArray(x, y, w, h)
    return arr[None] if arr.ndim == 2 else arr


# 1. Windows that need several requests, with the I/O variants users set.
files = cogs()
windows = []
for name, size in files:
    windows += [
        (name, 0, 0, 256, 256, 0),
        (name, 100, 100, 256, 256, 0),       # 2x2 tiles: two tile rows, two requests
        (name, 300, 200, 700, 700, 0),       # several rows and columns
        (name, size - 300, size - 260, 300, 260, 0),
        (name, 1000, 40, 512, 900, 0),
        (name, 10, 10, 300, 300, 1),         # an overview level
    ]
variants = [[], ["--coalesce-gap", "off"], ["--multi-range"], ["--http1", "--concurrency", "2"]]
for k, (name, x, y, w, h, ovr) in enumerate(windows):
    expected = gdal_window(os.path.join(WWW, "cogs", name), x, y, w, h, ovr)
    for v, extra in enumerate(variants):
        out = os.path.join(OUT, "w%d_%d.npy" % (k, v))
        args = ["read", "%s/cogs/%s" % (BASE, name), "--window", "%d,%d,%d,%d" % (x, y, w, h),
                "--overview", str(ovr), "--out", out] + extra
        if run(args).returncode == 0:
            compare(out, expected, "read %s %d,%d,%d,%d ovr %d %s" % (name, x, y, w, h, ovr, " ".join(extra)))
print("release-http: %d windows x %d I/O variants over HTTP" % (len(windows), len(variants)))

# 2. The GDAL matrix over HTTP (the same expectations GeoTIFFTests check in-process, debug).
manifest = json.load(open(os.path.join(WWW, "matrix", "manifest.json")))
cases = [c for c in manifest["cases"] if not c["mask"]]


def matrix_case(item):
    k, c = item
    out = os.path.join(OUT, "m%d.npy" % k)
    args = ["read", "%s/matrix/%s" % (BASE, c["file"]), "--window", ",".join(map(str, c["window"])),
            "--bands", ",".join(map(str, c["bands"])), "--overview", str(c["overview"]), "--out", out]
    proc = subprocess.run([BIN] + args, capture_output=True, text=True, timeout=120)
    return k, c, out, proc


with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
    for k, c, out, proc in pool.map(matrix_case, enumerate(cases)):
        what = "matrix %s" % c["expected"]
        if proc.returncode != 0:
            failures.append("%s: exit %d: %s" % (what, proc.returncode, proc.stderr.strip()[-300:]))
            continue
        expected = np.load(os.path.join(WWW, "matrix", c["expected"]))
        got = np.load(out)
        if got.dtype.kind == "f" or expected.dtype.kind == "f":
            same = got.shape == expected.shape and np.array_equal(got.astype(expected.dtype), expected, equal_nan=True)
        else:
            same = got.shape == expected.shape and got.tobytes() == expected.astype(got.dtype).tobytes()
        if not same:
            failures.append("%s: pixels differ from GDAL" % what)
print("release-http: %d GDAL matrix cases over HTTP" % len(cases))

# 3. info and fetch: metadata and raw bytes through the concurrent batch path.
for name, _ in files:
    proc = run(["info", "%s/cogs/%s" % (BASE, name), "--json"])
    if proc.returncode == 0:
        info = json.loads(proc.stdout)
        if info.get("width") is None and "images" not in info:
            failures.append("info %s: unexpected JSON %s" % (name, proc.stdout[:200]))
blob = os.path.join(WWW, "cogs", files[0][0])
size = os.path.getsize(blob)
ranges = ["%d:%d" % (o, 5000 + o % 977) for o in range(0, size - 20000, size // 40)]
for extra in ([], ["--multi-range"], ["--coalesce-gap", "off"]):
    out = os.path.join(OUT, "fetch.bin")
    args = ["fetch", "%s/cogs/%s" % (BASE, files[0][0]), "--out", out]
    for r in ranges:
        args += ["--range", r]
    if run(args + extra).returncode == 0:
        data = open(blob, "rb").read()
        want = b"".join(data[int(r.split(":")[0]):int(r.split(":")[0]) + int(r.split(":")[1])] for r in ranges)
        if open(out, "rb").read() != want:
            failures.append("fetch %s: bytes differ from the file" % " ".join(extra))
proc = run(["fetch", "%s/cogs/%s" % (BASE, files[0][0]), "--windows", "64", "--length", "8KiB",
            "--row-stride", "256KiB", "--parallel", "16", "--json"])

# 4. The catalog path over HTTP equals the catalog read from disk.
world = os.path.join(WWW, "train-world")
for sub in (["catalog", "pairs"], ["catalog", "inspect", "--json"]):
    local = run(sub[:2] + [os.path.join(world, "catalog.json")] + sub[2:])
    remote = run(sub[:2] + [BASE + "/train-world/catalog.json"] + sub[2:])
    if local.returncode == 0 and remote.returncode == 0:
        def normal(text):
            return text.replace(BASE + "/train-world", "<root>").replace(world, "<root>").replace("file://", "")
        if normal(local.stdout) != normal(remote.stdout):
            failures.append("%s over HTTP differs from the local catalog" % " ".join(sub))

# 5. bench read and train, end to end, from nginx.
listing = os.path.join(OUT, "list.txt")
with open(listing, "w") as f:
    for name, _ in files:
        f.write("%s/cogs/%s\n" % (BASE, name))
proc = run(["bench", "read", "--list", listing, "--windows", "60", "--size", "256", "--threads", "2"])
train_dir = os.path.join(OUT, "train")
proc = run(["train", "--catalog", BASE + "/train-world/catalog.json", "--model", "tiny", "--size", "32",
            "--batch", "4", "--steps", "4", "--warmup", "1", "--max-days", "6", "--blas-threads", "1",
            "--decode-threads", "2", "--quiet", "--memory-cache", "0", "--out", train_dir])
if proc.returncode == 0:
    metrics = [json.loads(l) for l in open(os.path.join(train_dir, "metrics.jsonl")) if l.strip()]
    losses = [m["loss"] for m in metrics if "loss" in m]
    if len(losses) < 4 or not all(np.isfinite(losses)):
        failures.append("train from nginx: %d losses %s" % (len(losses), losses[:6]))

if failures:
    print("release-http: %d failure(s)" % len(failures), file=sys.stderr)
    for f in failures[:40]:
        print("  " + f, file=sys.stderr)
    sys.exit(1)
print("release-http: the release binary reads, fetches, pages and trains over HTTP correctly")
