#!/usr/bin/env python3
"""Round trip: a tandem-tiny checkpoint written by Swift loads in PyTorch and gives the same
embeddings. Run Scripts/reference/check_roundtrip.sh (exports with `swift test`, then checks).

Reads DIR/model.safetensors (Swift's ParameterStore.save) and DIR/io.safetensors (inputs and the
Swift model's eval-mode embeddings), loads the model with load_state_dict(strict=True), compares.
"""
import os
import sys

import torch
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(__file__))
from tandem_model import TINY, DualEncoder  # noqa: E402

d = sys.argv[1]
state = load_file(os.path.join(d, "model.safetensors"))
io = load_file(os.path.join(d, "io.safetensors"))
model = DualEncoder(TINY, 2, 4, temperature=0.07, learnable=True)
missing = model.load_state_dict(state, strict=True)
model.eval()
with torch.no_grad():
    z1, z2 = model(io["input.s1"], io["input.s2"])
e1 = (z1 - io["swift.z1"]).abs().max().item()
e2 = (z2 - io["swift.z2"]).abs().max().item()
print(f"load_state_dict(strict=True): ok ({len(state)} tensors); "
      f"max |z_torch - z_swift|: s1 {e1:.3g}, s2 {e2:.3g}")
sys.exit(0 if max(e1, e2) < 1e-5 else 1)
