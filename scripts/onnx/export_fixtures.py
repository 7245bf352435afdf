"""Exports the ONNX fixtures of pmeter's nn/onnx tests from PyTorch.

Run with Debian's interpreter, which has torch (1.13; torch.onnx.export needs no onnx package):

    /usr/bin/python3 scripts/onnx/export_fixtures.py [OUTDIR]

OUTDIR defaults to nn/onnx/testdata. For each model NAME it writes NAME.onnx, NAME_x.npy (the input,
float32, in the model's input layout) and NAME_logits.npy (PyTorch's float32 output of the model in
evaluation mode on that input; for models exported with a trailing Softmax/LogSoftmax, the logits
before it, which is what the Go importer returns). Except for cnn_folded, whose exported parameters
are not PyTorch's (BatchNorm folded into Conv), it also writes NAME_labels.npy (int64, random labels),
NAME_loss.npy (float64, per-record cross-entropy of the logits) and NAME_gradnorm.npy (float64, the
Euclidean norm over all trainable parameters of the gradient of each record's own loss, in evaluation
mode), which nn.Evaluate must reproduce on the imported model. Every weight and input comes from
fixed seeds, so the files are reproducible on one machine (exported bytes may differ between torch
versions).

Models:
  mlp           Linear/ReLU/Linear/Tanh/Linear, dynamic batch axis ("batch"): Gemm, Relu, Tanh
  cnn           Conv/BatchNorm/ReLU/MaxPool/Conv/BatchNorm/ReLU/AvgPool/Flatten/Linear, exported with
                training=PRESERVE so BatchNormalization stays a node (EVAL would fold it into Conv)
  cnn_softmax   cnn followed by Softmax(dim=1) (exported like cnn)
  cnn_folded    cnn exported in EVAL mode (BatchNorm folded into the convolutions by the exporter)
  resnet        Conv/BN/ReLU, a residual block with identity shortcut, a residual block with a 1x1
                convolution shortcut, AdaptiveAvgPool2d(1) (GlobalAveragePool), Flatten, Linear
  ops           (x - mean) / std with constants, Conv, LeakyReLU(0.1), x.view(x.size(0), -1), x @ W + b
                (MatMul + Add), Sigmoid, Dropout, Linear, LogSoftmax(dim=1); dynamic batch axis, so the
                view is exported as Shape, Gather, Unsqueeze, Concat and Reshape
"""
import os
import sys

import numpy as np
import torch
import torch.nn as tnn

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "nn", "onnx", "testdata")
OPSET = 13


def randomize_bn(model, gen):
    """Gives every BatchNorm non-trivial affine parameters and running statistics."""
    for m in model.modules():
        if isinstance(m, (tnn.BatchNorm1d, tnn.BatchNorm2d)):
            with torch.no_grad():
                m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=gen) * 0.2)
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.3)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)


class Block(tnn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.body = tnn.Sequential(
            tnn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), tnn.BatchNorm2d(cout), tnn.ReLU(),
            tnn.Conv2d(cout, cout, 3, padding=1, bias=False), tnn.BatchNorm2d(cout))
        self.shortcut = tnn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = tnn.Sequential(tnn.Conv2d(cin, cout, 1, stride=stride, bias=False), tnn.BatchNorm2d(cout))

    def forward(self, x):
        return self.body(x) + self.shortcut(x)


class Ops(tnn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.25, -0.5]).view(1, 2, 1, 1))
        self.register_buffer("std", torch.tensor([0.5, 2.0]).view(1, 2, 1, 1))
        self.conv = tnn.Conv2d(2, 4, 3, padding=1)
        self.w = tnn.Parameter(torch.randn(4 * 5 * 5, 12) * 0.1)
        self.b = tnn.Parameter(torch.randn(12) * 0.1)
        self.drop = tnn.Dropout(0.3)
        self.fc = tnn.Linear(12, 6)

    def forward(self, x):
        x = (x - self.mean) / self.std
        x = tnn.functional.leaky_relu(self.conv(x), 0.1)
        x = x.view(x.size(0), -1)
        x = torch.sigmoid(x @ self.w + self.b)
        return self.fc(self.drop(x))


def cnn():
    return tnn.Sequential(
        tnn.Conv2d(3, 6, 3, padding=1), tnn.BatchNorm2d(6), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(6, 8, 3, stride=1, padding=1), tnn.BatchNorm2d(8), tnn.ReLU(), tnn.AvgPool2d(2),
        tnn.Flatten(), tnn.Linear(8 * 2 * 2, 10))


def record_signals(model, x, y):
    """Per-record cross-entropy and per-record gradient norm over all trainable parameters."""
    params = [p for p in model.parameters() if p.requires_grad]
    losses, norms = [], []
    for i in range(len(x)):
        loss = tnn.functional.cross_entropy(model(x[i:i + 1]), y[i:i + 1])
        grads = torch.autograd.grad(loss, params)
        norms.append(torch.sqrt(sum((g.double() ** 2).sum() for g in grads)).item())
        losses.append(loss.item())
    return np.array(losses, dtype=np.float64), np.array(norms, dtype=np.float64)


def export(name, model, x, head=None, training=torch.onnx.TrainingMode.EVAL, dynamic_batch=False, signals=True):
    """Exports model (followed by head, if any) and writes the input and model(x), the logits."""
    model.eval()
    with torch.no_grad():
        logits = model(x)
    if signals:
        y = torch.randint(0, logits.shape[1], (len(x),), generator=torch.Generator().manual_seed(2))
        loss, norm = record_signals(model, x, y)
        np.save(os.path.join(OUT, name + "_labels.npy"), y.numpy().astype(np.int64))
        np.save(os.path.join(OUT, name + "_loss.npy"), loss)
        np.save(os.path.join(OUT, name + "_gradnorm.npy"), norm)
    full = model if head is None else tnn.Sequential(model, head)
    full.eval()
    kw = {}
    if dynamic_batch:
        kw["dynamic_axes"] = {"input": {0: "batch"}, "output": {0: "batch"}}
    torch.onnx.export(full, x, os.path.join(OUT, name + ".onnx"), input_names=["input"], output_names=["output"],
                      opset_version=OPSET, training=training, do_constant_folding=True, **kw)
    np.save(os.path.join(OUT, name + "_x.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(OUT, name + "_logits.npy"), logits.numpy().astype(np.float32))


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)

    mlp = tnn.Sequential(tnn.Linear(20, 32), tnn.ReLU(), tnn.Linear(32, 16), tnn.Tanh(), tnn.Linear(16, 5))
    export("mlp", mlp, torch.randn(7, 20), dynamic_batch=True)

    net = cnn()
    randomize_bn(net, gen)
    x = torch.randn(5, 3, 8, 8)
    export("cnn", net, x, training=torch.onnx.TrainingMode.PRESERVE)
    export("cnn_folded", net, x, signals=False)
    export("cnn_softmax", net, torch.randn(4, 3, 8, 8), head=tnn.Softmax(dim=1), training=torch.onnx.TrainingMode.PRESERVE)

    resnet = tnn.Sequential(
        tnn.Conv2d(3, 4, 3, padding=1, bias=False), tnn.BatchNorm2d(4), tnn.ReLU(),
        Block(4, 4, 1), tnn.ReLU(), Block(4, 8, 2), tnn.ReLU(),
        tnn.AdaptiveAvgPool2d(1), tnn.Flatten(), tnn.Linear(8, 10))
    randomize_bn(resnet, gen)
    export("resnet", resnet, torch.randn(3, 3, 8, 8), training=torch.onnx.TrainingMode.PRESERVE, dynamic_batch=True)

    export("ops", Ops(), torch.randn(6, 2, 5, 5), head=tnn.LogSoftmax(dim=1), dynamic_batch=True)


if __name__ == "__main__":
    main()
