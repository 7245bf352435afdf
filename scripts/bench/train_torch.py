#!/usr/bin/python3
"""PyTorch CPU baseline for `pmeter bench train`.

Trains the same model on the same data as the Go benchmark and prints one JSON line with the throughput,
so that the Go command can print the ratio of the two measured in the same run.

Usage: train_torch.py --model mlp|cnn|wrn|resnet --x X.npy --y Y.npy --epochs E --batch B --threads T [--lr LR] [--classes C]
                      [--repeats R]

Every epoch visits the records in a random order in full batches (the last, incomplete batch is
dropped, like pmeter's DropLast); the time covers the training loop only. cpu_seconds is the CPU time
of the process over the same span (all threads), which is robust to other load on the machine. With
--repeats R the training runs R times, each with a fresh model, and the fastest run is reported (with
all_seconds listing every run).

Models (identical to pmeter's definitions in the benchmark):
  mlp: Linear(D, 256) -> ReLU -> Linear(256, C), Adam(lr)                          (X: N x D float32)
  cnn: Conv2d(3,32,3,pad 1) -> ReLU -> MaxPool2d(2) -> Conv2d(32,64,3,pad 1) -> ReLU -> MaxPool2d(2)
       -> Flatten -> Linear(4096,128) -> ReLU -> Linear(128, C), Adam(lr)          (X: N x 3 x 32 x 32)
  wrn: pmeter's zoo wrn28-2 (pre-activation WRN-28-2, bias-free convolutions), Adam(lr)
  resnet: ResNet-20 of He et al. with 1x1 convolution + batch norm projection shortcuts, Adam(lr)
"""
import argparse
import json
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch
import torch.nn as nn


class Residual(nn.Module):
    """body(x) + shortcut(x), the identity shortcut when there is none (pmeter's residual layer)."""

    def __init__(self, body, shortcut=None):
        super().__init__()
        self.body = nn.Sequential(*body)
        self.shortcut = nn.Sequential(*shortcut) if shortcut else None

    def forward(self, x):
        return self.body(x) + (self.shortcut(x) if self.shortcut is not None else x)


def conv(i, o, k, stride=1):
    return nn.Conv2d(i, o, k, stride=stride, padding=k // 2, bias=False)


def wrn(c, classes, depth=28, width=2):
    """pmeter's zoo.WRN: the block order, shortcuts and widths of nn/zoo/zoo.go."""
    n = (depth - 4) // 6
    layers, cur = [conv(c, 16, 3)], 16
    for g, w in enumerate([16 * width, 32 * width, 64 * width]):
        for b in range(n):
            stride = 2 if g > 0 and b == 0 else 1
            if cur == w and stride == 1:
                layers.append(Residual([nn.BatchNorm2d(cur), nn.ReLU(), conv(cur, w, 3), nn.BatchNorm2d(w), nn.ReLU(), conv(w, w, 3)]))
            else:
                layers += [nn.BatchNorm2d(cur), nn.ReLU(),
                           Residual([conv(cur, w, 3, stride), nn.BatchNorm2d(w), nn.ReLU(), conv(w, w, 3)], [conv(cur, w, 1, stride)])]
            cur = w
    return nn.Sequential(*layers, nn.BatchNorm2d(cur), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cur, classes))


def resnet20(c, classes):
    """nnbench's resNet20: post-activation basic blocks, projection shortcuts where the shape changes."""
    layers, cur = [conv(c, 16, 3), nn.BatchNorm2d(16), nn.ReLU()], 16
    for g, w in enumerate([16, 32, 64]):
        for b in range(3):
            stride = 2 if g > 0 and b == 0 else 1
            short = [conv(cur, w, 1, stride), nn.BatchNorm2d(w)] if cur != w or stride != 1 else None
            layers += [Residual([conv(cur, w, 3, stride), nn.BatchNorm2d(w), nn.ReLU(), conv(w, w, 3), nn.BatchNorm2d(w)], short), nn.ReLU()]
            cur = w
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cur, classes))


def build(kind, x_shape, classes):
    if kind == "mlp":
        return nn.Sequential(nn.Linear(x_shape[1], 256), nn.ReLU(), nn.Linear(256, classes))
    if kind == "cnn":
        return nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 8 * 8, 128), nn.ReLU(), nn.Linear(128, classes))
    if kind == "wrn":
        return wrn(x_shape[1], classes)
    if kind == "resnet":
        return resnet20(x_shape[1], classes)
    raise SystemExit("unknown model " + kind)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--x", required=True)
    ap.add_argument("--y", required=True)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--classes", type=int, default=0, help="output classes (default: largest label + 1)")
    ap.add_argument("--repeats", type=int, default=1, help="timed runs, each with a fresh model; the fastest is reported")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    x = torch.from_numpy(np.load(a.x).astype(np.float32))
    y = torch.from_numpy(np.load(a.y).astype(np.int64))
    classes = a.classes or int(y.max()) + 1
    runs = [train_once(a, x, y, classes, r) for r in range(a.repeats)]
    best = min(runs, key=lambda r: r["seconds"])
    best.update({"impl": "pytorch " + torch.__version__, "model": a.model, "repeats": a.repeats,
                 "all_seconds": [r["seconds"] for r in runs]})
    print(json.dumps(best))


def train_once(a, x, y, classes, repeat):
    """Trains a fresh model (seeded with seed + repeat) and returns its timing."""
    torch.manual_seed(a.seed + repeat)
    model = build(a.model, tuple(x.shape), classes)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    lossf = nn.CrossEntropyLoss()
    n = x.shape[0]
    g = torch.Generator().manual_seed(a.seed + repeat)
    samples = 0
    first = last = None
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(a.epochs):
        perm = torch.randperm(n, generator=g)
        for i in range(0, n - a.batch + 1, a.batch):
            idx = perm[i:i + a.batch]
            opt.zero_grad(set_to_none=True)
            loss = lossf(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            samples += len(idx)
            if first is None:
                first = float(loss)
            last = float(loss)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    params = sum(p.numel() for p in model.parameters())
    return {"samples": samples, "seconds": dt, "cpu_seconds": cpu, "samples_per_s": samples / dt,
            "params": params, "first_loss": first, "last_loss": last}

if __name__ == "__main__":
    main()
