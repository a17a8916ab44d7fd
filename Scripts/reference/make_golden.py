#!/usr/bin/env python3
"""Writes Tests/NNTests/Fixtures/golden-tiny.safetensors: the PyTorch reference for Sources/NN.

Run: Scripts/reference/make_golden.sh (creates .venv-torch with torch + safetensors from PyPI).
Contents (all F32 unless noted):
  param.<name>     initial state_dict of tandem-tiny (BN affine and running stats randomized)
  input.s1/.s2     input batch [6, 2|4, 30, 30] (odd sizes exercise padding and stride edges)
  out.z1/.z2       embeddings in train mode; out.f1/.f2 pooled features; out.loss [1]
  grad.<name>      gradient of the InfoNCE loss w.r.t. every parameter
  after.<name>     BN running stats / num_batches_tracked (I64) after that forward
  eval.z1/.z2      embeddings in eval mode (running stats) with the initial weights
  adamw.losses     [5] losses of 5 AdamW steps (lr 1e-2, wd 0.05 on conv/linear weights)
  final.<name>     parameters after the 5 steps
"""
import os
import sys

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
from tandem_model import TINY, DualEncoder, info_nce, param_groups  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "Tests", "NNTests", "Fixtures", "golden-tiny.safetensors")

torch.manual_seed(1234)
torch.set_num_threads(1)
model = DualEncoder(TINY, 2, 4, temperature=0.1, learnable=True)
with torch.no_grad():
    for name, m in model.named_modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.2, 0.2)
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.num_batches_tracked.fill_(3)
initial = {k: v.clone() for k, v in model.state_dict().items()}

x1 = torch.randn(6, 2, 30, 30)
x2 = torch.randn(6, 4, 30, 30)
out = {}
for k, v in initial.items():
    out["param." + k] = v
out["input.s1"] = x1
out["input.s2"] = x2

model.train()
z1, z2 = model(x1, x2)
loss = info_nce(z1, z2, model.log_t())
loss.backward()
out["out.z1"] = z1.detach()
out["out.z2"] = z2.detach()
out["out.loss"] = loss.detach().reshape(1)
for name, p in model.named_parameters():
    out["grad." + name] = p.grad.detach().clone()
for k, v in model.state_dict().items():
    if "running" in k or "num_batches" in k:
        out["after." + k] = v.clone()

# Features in train mode with the initial weights (recomputed from a fresh copy).
fresh = DualEncoder(TINY, 2, 4, temperature=0.1, learnable=True)
fresh.load_state_dict(initial)
fresh.train()
with torch.no_grad():
    out["out.f1"] = fresh.s1.features(x1)
    out["out.f2"] = fresh.s2.features(x2)
fresh.load_state_dict(initial)
fresh.eval()
with torch.no_grad():
    e1, e2 = fresh(x1, x2)
out["eval.z1"] = e1
out["eval.z2"] = e2

# Five AdamW steps from the initial state on the same batch.
model.load_state_dict(initial)
model.train()
opt = torch.optim.AdamW(param_groups(model, 0.05), lr=1e-2, betas=(0.9, 0.999), eps=1e-8)
losses = []
for step in range(5):
    opt.zero_grad()
    z1, z2 = model(x1, x2)
    loss = info_nce(z1, z2, model.log_t())
    loss.backward()
    opt.step()
    losses.append(loss.item())
out["adamw.losses"] = torch.tensor(losses, dtype=torch.float32)
for name, p in model.named_parameters():
    out["final." + name] = p.detach().clone()

out = {k: v.contiguous() for k, v in out.items()}
save_file(out, OUT, metadata={"generator": "Scripts/reference/make_golden.py",
                              "torch": torch.__version__, "seed": "1234"})
print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes), loss {out['out.loss'].item():.6f}, "
      f"adamw losses {[round(x, 6) for x in losses]}")
