"""PyTorch definition of Tandem's encoders, identical to Sources/NN (names match state_dict).

tandem-small: stem 3x3/s2 -> 32, BN, ReLU; one BasicBlock per stage of widths 32, 64 (s2),
128 (s2), 256 (s2); global average pool; projection Linear 256->256, ReLU, Linear 256->128;
L2-normalize. tandem-tiny: stem 8, stages 8/16/16/32, projection 32->32->16.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

SMALL = dict(stem=32, widths=(32, 64, 128, 256), hidden=256, out=128)
TINY = dict(stem=8, widths=(8, 16, 16, 32), hidden=32, out=16)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        else:
            self.downsample = None

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        sc = x if self.downsample is None else self.downsample(x)
        return F.relu(h + sc)


class Stem(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, 2, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Encoder(nn.Module):
    def __init__(self, in_channels, stem, widths, hidden, out, blocks_per_stage=1):
        super().__init__()
        self.stem = Stem(in_channels, stem)
        width = stem
        for s, w in enumerate(widths):
            blocks = []
            for b in range(blocks_per_stage):
                blocks.append(BasicBlock(width, w, 2 if s > 0 and b == 0 else 1))
                width = w
            setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))
        self.n_stages = len(widths)
        self.proj = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, out))

    def features(self, x):
        x = self.stem(x)
        for s in range(self.n_stages):
            x = getattr(self, f"layer{s + 1}")(x)
        return x.mean(dim=(2, 3))

    def forward(self, x):
        return F.normalize(self.proj(self.features(x)), dim=1)


class DualEncoder(nn.Module):
    def __init__(self, cfg, s1_channels=2, s2_channels=4, temperature=0.07, learnable=True):
        super().__init__()
        self.s1 = Encoder(s1_channels, **cfg)
        self.s2 = Encoder(s2_channels, **cfg)
        t = torch.tensor(math.log(temperature))
        if learnable:
            self.log_temperature = nn.Parameter(t)
        else:
            self.register_buffer("fixed_log_temperature", t, persistent=False)
        self.learnable = learnable

    def log_t(self):
        return self.log_temperature if self.learnable else self.fixed_log_temperature

    def forward(self, x1, x2):
        return self.s1(x1), self.s2(x2)


def info_nce(z1, z2, log_t):
    logits = z1 @ z2.t() / torch.exp(log_t)
    labels = torch.arange(z1.shape[0])
    return 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels))


def param_groups(model, weight_decay):
    """Weight decay on conv/linear weights only, as Sources/NN (ParameterStore.Entry.decay)."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (decay if p.ndim > 1 else no_decay).append(p)
    return [dict(params=decay, weight_decay=weight_decay), dict(params=no_decay, weight_decay=0.0)]
