#!/usr/bin/python3
"""DP-SGD's clipped gradient sum in PyTorch, by a per-sample loop (the definition, no tricks).

  dp_torch.py DIR...

Each DIR holds a model saved by pmeter (m.safetensors and its sidecar m.json), the examples x.npy, their
labels y.npy and the clipping norm C in clip.txt; the script writes DIR/sum.npy and DIR/norms.npy. It
builds the model of pmeter's sidecar (safetensors_torch.build), loads its weights (strict), and for each
example i alone computes g_i = ∇θ cross_entropy(model(x_i), y_i) over the parameters in state_dict order,
its norm ‖g_i‖ and the clipped sum Σ_i g_i·min(1, C/‖g_i‖), in float64 from torch's float32 gradients.
It writes the flattened sum and the per-example norms (unclipped).
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_torch import build, read_safetensors  # noqa: E402


def main():
    torch.set_num_threads(1)
    for d in sys.argv[1:]:
        one(d)


def one(d):
    weights, sidecar = os.path.join(d, "m.safetensors"), os.path.join(d, "m.json")
    xpath, ypath = os.path.join(d, "x.npy"), os.path.join(d, "y.npy")
    sumpath, normpath = os.path.join(d, "sum.npy"), os.path.join(d, "norms.npy")
    with open(os.path.join(d, "clip.txt")) as f:
        c = float(f.read())
    with open(sidecar) as f:
        info = json.load(f)
    model, _ = build(info["layers"], len(info["input_shape"]))
    state, _ = read_safetensors(weights)
    model.load_state_dict(state, strict=True)
    model.train()  # no dropout or batch norm in the models checked: train and eval agree
    params = [p for _, p in model.named_parameters()]
    x = torch.from_numpy(np.load(xpath).astype(np.float32))
    y = torch.from_numpy(np.load(ypath).astype(np.int64))
    total = np.zeros(sum(p.numel() for p in params))
    norms = []
    for i in range(x.shape[0]):
        model.zero_grad()
        loss = F.cross_entropy(model(x[i:i + 1]), y[i:i + 1], reduction="sum")
        loss.backward()
        g = np.concatenate([p.grad.detach().numpy().astype(np.float64).ravel() for p in params])
        n = float(np.sqrt((g * g).sum()))
        norms.append(n)
        total += g * min(1.0, c / n)
    np.save(sumpath, total.astype(np.float32))
    np.save(normpath, np.array(norms, dtype=np.float64))


if __name__ == "__main__":
    main()
