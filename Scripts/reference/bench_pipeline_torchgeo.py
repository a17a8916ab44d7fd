"""TorchGeo peer of `tandem bench pipeline` (issue 7): streams paired S1/S2 samples from COGs
over HTTP the way TorchGeo users do — two RasterDatasets over /vsicurl/ URLs, their
intersection (`&`), RandomGeoSampler and a DataLoader — and prints one JSON line with paired
samples/s.

The file list comes from `tandem catalog pairs --out PAIRS` (JSON Lines), so TorchGeo reads
exactly the S1 (VV, VH) and S2 (B02, B03, B04, B08) COGs Tandem pairs. TorchGeo takes a scene's
date from its file name; these files are named vv.tif / B02.tif inside a per-scene directory,
so the small subclasses below give every file the item's datetime (S1 widened by ±max-days so
the intersection pairs S1 with the S2 scene Tandem pairs it with).

With --no-cache, RasterDataset(cache=False): every sample opens its files again (TorchGeo's
default, cache=True, keeps the last 128 opened files). The JSON line also gives the CPU seconds
of the process and its DataLoader workers from the first batch requested to the last received
(warm-up included, so a slight overestimate per sample), for a comparison that holds on a
loaded machine.

Usage: bench_pipeline_torchgeo.py --pairs PAIRS.jsonl [--workers N] [--batches N]
           [--warmup N] [--batch B] [--size PX] [--seed S] [--max-days D] [--no-cache]
"""

import argparse
import json
import os
import resource
import sys
import time

# As TorchGeo's docs and users set them for cloud COGs: no directory listing per open,
# only .tif requests, keep connections and headers cached.
os.environ.setdefault("GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR")
os.environ.setdefault("CPL_VSIL_CURL_ALLOWED_EXTENSIONS", ".tif")
os.environ.setdefault("GDAL_HTTP_MERGE_CONSECUTIVE_RANGES", "YES")
os.environ.setdefault("GDAL_HTTP_MULTIPLEX", "YES")
os.environ.setdefault("VSI_CACHE", "TRUE")

import pandas as pd  # noqa: E402
import torch  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402
from torchgeo.datasets import RasterDataset, stack_samples  # noqa: E402
from torchgeo.samplers import RandomGeoSampler  # noqa: E402


def vsicurl(href):
    return href if href.startswith("/vsi") else "/vsicurl/" + href


class DatedRaster(RasterDataset):
    """A RasterDataset whose files' time spans come from their STAC items, not file names."""

    # filled per subclass before construction: path -> (mint, maxt) as pandas Timestamps
    spans = {}

    def __init__(self, paths, **kwargs):
        super().__init__(paths=paths, **kwargs)
        index = self.index
        new = []
        for i, path in enumerate(index["filepath"]):
            mint, maxt = self.spans[path]
            new.append(pd.Interval(mint, maxt, closed="both"))
        index.index = pd.IntervalIndex(new, name=index.index.name)


class S1(DatedRaster):
    filename_glob = "vv.tif"
    filename_regex = r"^(?P<band>vv|vh)\.tif$"
    all_bands = ("vv", "vh")
    separate_files = True
    is_image = True


class S2(DatedRaster):
    filename_glob = "B02.tif"
    filename_regex = r"^(?P<band>B\d\d)\.tif$"
    all_bands = ("B02", "B03", "B04", "B08")
    separate_files = True
    is_image = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", required=True)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-days", type=float, default=3)
    ap.add_argument("--timeout", type=float, default=60, help="DataLoader worker timeout (s)")
    ap.add_argument("--no-cache", action="store_true", help="RasterDataset(cache=False)")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(1)

    s1_spans, s2_spans = {}, {}
    half = pd.Timedelta(days=a.max_days / 2)
    for line in open(a.pairs):
        if not line.strip():
            continue
        pair = json.loads(line)
        t1 = pd.Timestamp(pair["s1"]["datetime"]).tz_localize(None)
        t2 = pd.Timestamp(pair["s2"]["datetime"]).tz_localize(None)
        s1_spans[vsicurl(pair["s1"]["assets"][0]["href"])] = (t1 - half, t1 + half)
        s2_spans[vsicurl(pair["s2"]["assets"][0]["href"])] = (t2 - half, t2 + half)
    S1.spans, S2.spans = s1_spans, s2_spans

    t0 = time.perf_counter()
    cache = not a.no_cache
    s1 = S1(paths=sorted(s1_spans), res=10, cache=cache)
    s2 = S2(paths=sorted(s2_spans), res=10, cache=cache)
    pairs = s1 & s2
    sampler = RandomGeoSampler(pairs, size=a.size, length=a.batch * (a.warmup + a.batches))
    loader = DataLoader(
        pairs,
        batch_size=a.batch,
        sampler=sampler,
        num_workers=a.workers,
        collate_fn=stack_samples,
        timeout=a.timeout if a.workers > 0 else 0,
        multiprocessing_context="fork" if a.workers > 0 else None,
    )
    setup = time.perf_counter() - t0
    print(
        f"torchgeo: {len(s1)} S1 files, {len(s2)} S2 files, {len(pairs)} intersections, "
        f"setup {setup:.2f} s",
        file=sys.stderr,
    )
    samples = 0
    shape = None
    start = None

    def cpu_seconds():
        own = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    cpu0 = cpu_seconds()
    total = 0
    for i, batch in enumerate(loader):
        total += batch["image"].shape[0]
        if i == a.warmup:
            start = time.perf_counter()
        if i >= a.warmup:
            samples += batch["image"].shape[0]
        shape = tuple(batch["image"].shape)
    seconds = time.perf_counter() - start
    del loader  # ends the workers, so their CPU time is counted
    cpu = cpu_seconds() - cpu0
    print(f"torchgeo: batch image {shape}", file=sys.stderr)
    print(
        json.dumps(
            {
                "peer": f"torchgeo-{a.workers}w",
                "paired_samples_per_s": round(samples / seconds, 1),
                "samples": samples,
                "seconds": round(seconds, 3),
                "image_shape": list(shape),
                "cache": cache,
                "cpu_s": round(cpu, 3),
                "cpu_ms_per_sample": round(1000 * cpu / max(total, 1), 3),
            }
        )
    )


if __name__ == "__main__":
    main()
