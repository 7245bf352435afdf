#!/usr/bin/python3
"""Cross-checks pmeter's safetensors files with PyTorch, without the safetensors package.

The file format is read and written here with json + numpy only, straight from the specification
(8-byte little-endian header length, JSON header, raw little-endian data), so the check is independent
of pmeter's Go code. The model is built in torch from the layer specs of pmeter's JSON sidecar.

  read  WEIGHTS SIDECAR X.npy OUT.npy
        load pmeter's weights into the torch model (load_state_dict, strict), run it in eval mode on X
        and save its output; also checks the header layout (alignment, contiguous offsets).
  write SPECS.json SHAPE SEED WEIGHTS X.npy OUT.npy
        build the torch model from the specs (SHAPE like 3,8,8), initialise it from SEED, give its
        batch-norm layers non-trivial running statistics, write its state_dict as safetensors (our own
        writer), and save an input X and the eval-mode output OUT (used to make testdata fixtures).
"""
import json
import struct
import sys

import numpy as np
import torch
import torch.nn as nn

DTYPES = {"F32": "<f4", "F64": "<f8", "I64": "<i8", "I32": "<i4", "F16": "<f2"}


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    assert raw[8] == ord("{"), "header must start with {"
    assert (8 + n) % 8 == 0, "pmeter pads the header to a multiple of 8"
    data = raw[8 + n:]
    meta = header.pop("__metadata__", {})
    out, ends = {}, []
    for name, info in header.items():
        b, e = info["data_offsets"]
        arr = np.frombuffer(data[b:e], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy())
        ends.append((b, e))
    ends.sort()
    pos = 0
    for b, e in ends:
        assert b == pos, "tensors must be contiguous"
        pos = e
    assert pos == len(data), "data must end with the last tensor"
    return out, meta


def write_safetensors(path, tensors, meta):
    header, blobs, off = {"__metadata__": meta}, [], 0
    for name, t in tensors.items():
        a = t.detach().cpu().numpy()
        dt = {np.dtype("float32"): "F32", np.dtype("int64"): "I64"}[a.dtype]
        b = a.astype(DTYPES[dt]).tobytes()
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode("utf-8")
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


class Residual(nn.Module):
    def __init__(self, body, shortcut):
        super().__init__()
        self.body = body
        self.shortcut = shortcut

    def forward(self, x):
        return self.body(x) + self.shortcut(x)


def build(specs, rank):
    """Builds nn.Sequential from pmeter layer specs; rank is the per-record input rank."""
    layers = []
    for s in specs:
        k = s["kind"]
        if k == "dense":
            layers.append(nn.Linear(s["in"], s["out"], bias=not s.get("no_bias", False)))
            rank = 1
        elif k == "conv2d":
            layers.append(nn.Conv2d(s["in"], s["out"], s["kernel"], stride=s.get("stride", 1) or 1,
                                    padding=s.get("padding", 0), bias=not s.get("no_bias", False)))
        elif k == "maxpool2d":
            layers.append(nn.MaxPool2d(s["kernel"], stride=s.get("stride") or s["kernel"], padding=s.get("padding", 0)))
        elif k == "avgpool2d":
            layers.append(nn.AvgPool2d(s["kernel"], stride=s.get("stride") or s["kernel"], padding=s.get("padding", 0)))
        elif k == "globalavgpool":
            layers.append(nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()))
            rank = 1
        elif k == "batchnorm":
            cls = nn.BatchNorm2d if rank == 3 else nn.BatchNorm1d
            layers.append(cls(s["in"], eps=s.get("eps", 1e-5) or 1e-5, momentum=s.get("momentum", 0.1) or 0.1))
        elif k == "relu":
            layers.append(nn.ReLU())
        elif k == "tanh":
            layers.append(nn.Tanh())
        elif k == "sigmoid":
            layers.append(nn.Sigmoid())
        elif k == "dropout":
            layers.append(nn.Dropout(s.get("p", 0)))
        elif k == "flatten":
            layers.append(nn.Flatten())
            rank = 1
        elif k == "residual":
            body, r1 = build(s["body"], rank)
            shortcut, _ = build(s.get("shortcut", []), rank)
            layers.append(Residual(body, shortcut))
            rank = r1
        else:
            raise SystemExit("unknown layer kind " + k)
    return nn.Sequential(*layers), rank


def main():
    torch.set_num_threads(1)
    mode = sys.argv[1]
    if mode == "read":
        weights, sidecar, xpath, outpath = sys.argv[2:6]
        with open(sidecar) as f:
            info = json.load(f)
        model, _ = build(info["layers"], len(info["input_shape"]))
        state, meta = read_safetensors(weights)
        assert meta.get("format") == "pt", meta
        model.load_state_dict(state, strict=True)
        model.eval()
        with torch.no_grad():
            y = model(torch.from_numpy(np.load(xpath).astype(np.float32)))
        np.save(outpath, y.numpy().astype(np.float32))
    elif mode == "write":
        specs_path, shape, seed, weights, xpath, outpath = sys.argv[2:8]
        shape = [int(v) for v in shape.split(",")]
        torch.manual_seed(int(seed))
        with open(specs_path) as f:
            specs = json.load(f)
        model, _ = build(specs, len(shape))
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.data.uniform_(0.5, 1.5)
                m.bias.data.uniform_(-0.5, 0.5)
                m.num_batches_tracked.fill_(7)
        model.eval()
        x = torch.rand([4] + shape) * 2 - 1
        with torch.no_grad():
            y = model(x)
        write_safetensors(weights, model.state_dict(), {"format": "pt", "source": "nn/testdata/safetensors_torch.py"})
        np.save(xpath, x.numpy())
        np.save(outpath, y.numpy())
    else:
        raise SystemExit("mode must be read or write")


if __name__ == "__main__":
    main()
