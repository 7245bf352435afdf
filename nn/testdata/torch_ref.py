"""Generates torch_ref.json: PyTorch reference values for pmeter's nn package tests.

Run with the Debian interpreter that has torch (1.13): /usr/bin/python3 torch_ref.py
Every input is drawn here (torch.manual_seed(0)) and stored in the JSON next to the outputs, so the Go
test feeds the same numbers to its layers. Gradients are of L = sum(r * y) for a stored random r.
"""
import json

import torch
import torch.nn as tnn

torch.manual_seed(0)
out = {}


def t(x):
    x = x.detach().to(torch.float32)
    return {"shape": list(x.shape), "data": [float(v) for v in x.reshape(-1).tolist()]}


def layer_case(name, layer, x, **extra):
    x = x.clone().requires_grad_(True)
    y = layer(x)
    r = torch.randn_like(y)
    (y * r).sum().backward()
    case = {"x": t(x), "y": t(y), "r": t(r), "dx": t(x.grad)}
    for pname, p in layer.named_parameters():
        case[pname] = t(p)
        case["d" + pname] = t(p.grad)
    case.update(extra)
    out[name] = case


conv = tnn.Conv2d(3, 4, 3, stride=2, padding=1)
layer_case("conv_k3s2p1", conv, torch.randn(2, 3, 7, 6), stride=2, padding=1)
conv = tnn.Conv2d(2, 3, 5, stride=1, padding=0, bias=False)
layer_case("conv_k5s1p0_nobias", conv, torch.randn(2, 2, 8, 9), stride=1, padding=0)

lin = tnn.Linear(5, 3)
layer_case("linear", lin, torch.randn(4, 5))

# Integer-valued inputs give ties: PyTorch takes the first maximum.
layer_case("maxpool_k3s2p1", tnn.MaxPool2d(3, 2, 1), torch.randint(-3, 4, (2, 2, 7, 6)).float(), kernel=3, stride=2, padding=1)
layer_case("maxpool_k2", tnn.MaxPool2d(2), torch.randn(2, 3, 6, 5), kernel=2, stride=2, padding=0)
layer_case("avgpool_k3s2p1", tnn.AvgPool2d(3, 2, 1), torch.randn(2, 2, 7, 6), kernel=3, stride=2, padding=1)

# Batch norm: two training steps (running statistics), then evaluation.
for name, bn, shape in [("bn2d", tnn.BatchNorm2d(3), (4, 3, 5, 4)), ("bn1d", tnn.BatchNorm1d(5), (6, 5))]:
    with torch.no_grad():
        bn.weight.copy_(torch.rand(bn.weight.shape) + 0.5)
        bn.bias.copy_(torch.rand(bn.bias.shape) - 0.5)
    gamma, beta = bn.weight.detach().clone(), bn.bias.detach().clone()
    bn.train()
    x1 = torch.randn(*shape) * 2 + 1
    bn(x1)
    x = (torch.randn(*shape) * 1.5 - 0.5).requires_grad_(True)
    y = bn(x)
    r = torch.randn_like(y)
    (y * r).sum().backward()
    bn.eval()
    xe = torch.randn(*shape)
    ye = bn(xe)
    out[name] = {"gamma": t(gamma), "beta": t(beta), "x1": t(x1), "x": t(x), "y": t(y), "r": t(r),
                 "dx": t(x.grad), "dgamma": t(bn.weight.grad), "dbeta": t(bn.bias.grad),
                 "running_mean": t(bn.running_mean), "running_var": t(bn.running_var),
                 "x_eval": t(xe), "y_eval": t(ye)}

# Cross-entropy per record and its gradient.
z = (torch.randn(5, 7) * 3).requires_grad_(True)
labels = torch.tensor([0, 6, 3, 3, 1])
loss = torch.nn.functional.cross_entropy(z, labels, reduction="none")
loss.sum().backward()
out["cross_entropy"] = {"logits": t(z), "labels": labels.tolist(), "loss": [float(v) for v in loss.tolist()], "grad": t(z.grad)}

# Optimizers: 4 steps on one parameter tensor with fixed gradients.
p0 = torch.randn(3, 4)
grads = [torch.randn(3, 4) for _ in range(4)]
lrs = [0.1, 0.05, 0.2, 0.1]
opts = {
    "sgd": lambda p: torch.optim.SGD([p], lr=1, weight_decay=0.01),
    "sgd_momentum": lambda p: torch.optim.SGD([p], lr=1, momentum=0.9, dampening=0.1, weight_decay=0.01),
    "sgd_nesterov": lambda p: torch.optim.SGD([p], lr=1, momentum=0.9, nesterov=True, weight_decay=0.01),
    "adam": lambda p: torch.optim.Adam([p], lr=1, weight_decay=0.01),
    "adam_betas": lambda p: torch.optim.Adam([p], lr=1, betas=(0.8, 0.99), eps=1e-6),
    "adamw": lambda p: torch.optim.AdamW([p], lr=1, weight_decay=0.1),
}
optcases = {}
for name, make in opts.items():
    p = p0.clone().requires_grad_(True)
    o = make(p)
    traj = []
    for g, lr in zip(grads, lrs):
        for group in o.param_groups:
            group["lr"] = lr
        p.grad = g.clone()
        o.step()
        traj.append(t(p))
    optcases[name] = traj
out["optim"] = {"p0": t(p0), "grads": [t(g) for g in grads], "lrs": lrs, "after": optcases}

# The convolutions' dedicated paths (drawn last, so the cases above keep their values): pointwise
# (1×1, stride 1), and phased (stride 2 with an output of half the input: 1×1 and 3×3, padding 1).
conv = tnn.Conv2d(4, 6, 1)
layer_case("conv_k1s1p0", conv, torch.randn(2, 4, 5, 6), stride=1, padding=0)
conv = tnn.Conv2d(3, 5, 1, stride=2, bias=False)
layer_case("conv_k1s2p0_nobias", conv, torch.randn(2, 3, 8, 6), stride=2, padding=0)
conv = tnn.Conv2d(3, 4, 3, stride=2, padding=1)
layer_case("conv_k3s2p1_even", conv, torch.randn(2, 3, 8, 10), stride=2, padding=1)

with open("torch_ref.json", "w") as f:
    json.dump(out, f)
print("torch", torch.__version__)
