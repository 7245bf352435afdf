#!/usr/bin/python3
"""Train a small PyTorch model, export it to ONNX, and save the indices of its training records, so that
pmeter can audit it (see examples/onnx/audit.yaml and the README).

    /usr/bin/python3 examples/onnx/train_and_export.py [OUTDIR] [POOL]

It reads the Fashion-MNIST subset embedded in pmeter (dataset/embedded/data; pixels scaled to [0, 1],
shape 1x28x28, exactly as pmeter loads them), keeps the first POOL training images (default 600) as the
training pool, trains an MLP (784 -> 64 -> 10, ReLU) on a random half of them, and writes:
  OUTDIR/target.onnx        the trained model (logits; a dynamic batch axis)
  OUTDIR/target_train.npy   int64 indices (into the pool) of the records the model trained on
OUTDIR defaults to audit/testdata/external. With your own model, only the last two steps matter:
torch.onnx.export(model, example_input, "model.onnx", dynamic_axes=...) and numpy.save of the indices.
"""
import gzip
import os
import sys

import numpy as np
import torch
import torch.nn as tnn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "audit", "testdata", "external")
POOL = int(sys.argv[2]) if len(sys.argv) > 2 else 600


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main():
    data = os.path.join(ROOT, "dataset", "embedded", "data")
    x = idx(os.path.join(data, "fashion-mnist-train-images-idx3-ubyte.gz"))[:POOL].astype(np.float32) / 255
    y = idx(os.path.join(data, "fashion-mnist-train-labels-idx1-ubyte.gz"))[:POOL].astype(np.int64)
    x = x.reshape(POOL, 1, 28, 28)
    rng = np.random.default_rng(2024)
    train = np.sort(rng.permutation(POOL)[: POOL // 2]).astype(np.int64)

    torch.manual_seed(2024)
    model = tnn.Sequential(tnn.Flatten(), tnn.Linear(784, 64), tnn.ReLU(), tnn.Linear(64, 10))
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    xt, yt = torch.from_numpy(x[train]), torch.from_numpy(y[train])
    for epoch in range(30):
        perm = torch.randperm(len(train))
        for i in range(0, len(train), 32):
            b = perm[i:i + 32]
            opt.zero_grad()
            tnn.functional.cross_entropy(model(xt[b]), yt[b]).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(xt).argmax(1) == yt).float().mean().item()
    os.makedirs(OUT, exist_ok=True)
    torch.onnx.export(model, xt[:1], os.path.join(OUT, "target.onnx"), input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13)
    np.save(os.path.join(OUT, "target_train.npy"), train)
    print(f"trained on {len(train)} of {POOL} records (train accuracy {acc:.3f}); wrote {OUT}/target.onnx and target_train.npy")


if __name__ == "__main__":
    main()
