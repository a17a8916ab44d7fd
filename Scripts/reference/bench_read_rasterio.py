"""Peer for `Scripts/bench-read`: rasterio reads the same windows as `tandem bench read`
(--windows-out), opening, reading and closing the dataset per window as a data loader does.
Runs in .venv-bench (pip rasterio). Usage: bench_read_rasterio.py WINDOWS.jsonl THREADS
Prints one JSON object: windows, seconds, windows_per_s, decoded_mb_per_s, cpu_ms_per_window
(process user+system CPU, all threads)."""
import json
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import rasterio
from rasterio.windows import Window

jobs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
threads = int(sys.argv[2])
# GDAL's recommended cloud settings (https://gdal.org/user/configoptions.html, COG guidance).
# GDAL_HTTP_VERSION=2 only matters for servers that speak HTTP/2 (the loopback servers answer
# HTTP/1.1 and ignore curl's h2c upgrade offer). rasterio wants GDAL_CACHEMAX as an int, in bytes.
env = dict(GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR", CPL_VSIL_CURL_ALLOWED_EXTENSIONS=".tif",
           GDAL_HTTP_MERGE_CONSECUTIVE_RANGES="YES", GDAL_HTTP_MULTIPLEX="YES",
           GDAL_HTTP_VERSION="2", VSI_CACHE="TRUE", GDAL_CACHEMAX=256 << 20)


def read(job):
    path = job["object"]
    if path.startswith("http"):
        path = "/vsicurl/" + path
    with rasterio.open(path) as ds:
        a = ds.read(window=Window(job["x"], job["y"], job["size"], job["size"]))
    return a.nbytes


with rasterio.Env(**env):
    read(jobs[0])  # load GDAL drivers outside the timing
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    if threads == 1:
        total = sum(read(j) for j in jobs)
    else:
        with ThreadPoolExecutor(threads) as pool:
            total = sum(pool.map(read, jobs))
    seconds = time.perf_counter() - start
    r1 = resource.getrusage(resource.RUSAGE_SELF)
cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
print(json.dumps(dict(windows=len(jobs), seconds=seconds, windows_per_s=len(jobs) / seconds,
                      decoded_mb_per_s=total / 1e6 / seconds, cpu_seconds=cpu,
                      cpu_ms_per_window=cpu * 1000 / len(jobs))))
