#!/usr/bin/env python3
"""PyTorch CPU peer for Scripts/bench-train: full training steps of tandem-small (both encoders
forward, InfoNCE, backward, AdamW) at batch B, HxW inputs, per thread count; one JSON line each."""
import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(__file__))
from tandem_model import SMALL, DualEncoder, info_nce, param_groups  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--threads", default="1,2")
ap.add_argument("--batch", type=int, default=32)
ap.add_argument("--size", type=int, default=128)
ap.add_argument("--steps", type=int, default=5)
ap.add_argument("--warmup", type=int, default=1)
a = ap.parse_args()

for threads in [int(t) for t in a.threads.split(",")]:
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = DualEncoder(SMALL, 2, 4)
    model.train()
    opt = torch.optim.AdamW(param_groups(model, 0.05), lr=1e-3)
    x1 = torch.randn(a.batch, 2, a.size, a.size)
    x2 = torch.randn(a.batch, 4, a.size, a.size)

    def step():
        opt.zero_grad(set_to_none=False)
        z1, z2 = model(x1, x2)
        loss = info_nce(z1, z2, model.log_t())
        loss.backward()
        opt.step()

    for _ in range(a.warmup):
        step()
    times = []
    cpu = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        c0 = time.process_time()
        step()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    med = statistics.median(times)
    cmed = statistics.median(cpu)
    print(json.dumps({"peer": "pytorch", "torch": torch.__version__, "threads": threads,
                      "batch": a.batch, "size": a.size, "step_seconds_median": med,
                      "pairs_per_s": a.batch / med, "step_seconds_all": times,
                      "cpu_seconds_per_step": cmed, "pairs_per_cpu_s": a.batch / cmed}), flush=True)
