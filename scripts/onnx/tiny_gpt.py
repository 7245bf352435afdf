"""Builds tiny GPT-2-shaped language models with random weights in pure PyTorch (no transformers),
exports them to ONNX and writes PyTorch's per-token log-probabilities, for the tests of pmeter's nn/onnx Graph and llm/lmscore.

Run with Debian's interpreter, which has torch (1.13; torch.onnx.export needs no onnx package):

    /usr/bin/python3 scripts/onnx/tiny_gpt.py [OUTDIR]

OUTDIR defaults to nn/onnx/testdata. For each variant NAME it writes NAME.onnx and
NAME_expected.json: {"token_ids": [[...], ...], "token_logprobs": [[...], ...], "mu": [[...], ...],
"sigma2": [[...], ...]}, where token_logprobs[s][t] = log p(x_{t+1} | x_<=t) of the model on sequence s
alone, and mu, sigma2 are the mean and variance of log p under the model's next-token distribution at
that position. They are computed in float64 from PyTorch's float32 logits. It also writes gpt_tokens.jsonl
(the same sequences, with labels) for the command-line test.

Variants (both GPT-2 blocks: pre-LayerNorm, causal multi-head self-attention, MLP with GELU, tied
output embedding; dynamic batch and sequence axes):
  gpt_op13   opset 13: LayerNorm decomposed by the exporter (ReduceMean, Sub, Pow, Sqrt, Div), exact
             (erf) GELU, causal mask from Range and comparisons (arange(T)[:, None] >= arange(T)),
             an additive mask from ConstantOfShape (torch.zeros(T, T)) and Where
  gpt_op17   opset 17: LayerNormalization, tanh-approximate GELU, mask sliced from a registered
             lower-triangular buffer (Slice) compared with Equal, Where with the dtype's minimum
  gpt_mask   gpt_op17's blocks at opset 14 (torch 1.13's default) with a second input, attention_mask,
             as Hugging Face's models take it: positions from its CumSum, an additive padding mask
             (expected values with a mask of ones)
"""
import json
import math
import os
import sys

import torch
import torch.nn as tnn

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "nn", "onnx", "testdata")


class Block(tnn.Module):
    def __init__(self, d, heads, max_pos, variant):
        super().__init__()
        self.d, self.h, self.variant = d, heads, variant
        self.ln1 = tnn.LayerNorm(d)
        self.c_attn = tnn.Linear(d, 3 * d)
        self.c_proj = tnn.Linear(d, d)
        self.ln2 = tnn.LayerNorm(d)
        self.fc = tnn.Linear(d, 4 * d)
        self.proj = tnn.Linear(4 * d, d)
        self.register_buffer("bias", torch.tril(torch.ones(max_pos, max_pos)).view(1, 1, max_pos, max_pos))

    def attn(self, x, pad=None):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.d, dim=2)
        hd = C // self.h
        q = q.view(B, T, self.h, hd).transpose(1, 2)
        k = k.view(B, T, self.h, hd).transpose(1, 2)
        v = v.view(B, T, self.h, hd).transpose(1, 2)
        w = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd)
        if self.variant == "gpt_op13":
            i = torch.arange(T, device=x.device)
            causal = i[:, None] >= i[None, :]
            add = torch.zeros(T, T, dtype=x.dtype).masked_fill(~causal, float("-inf"))
            w = w + add
        else:
            mask = self.bias[:, :, :T, :T]
            w = torch.where(mask == 0, torch.tensor(torch.finfo(w.dtype).min, dtype=w.dtype), w)
        if pad is not None:
            w = w + pad
        w = torch.softmax(w, dim=-1)
        y = torch.matmul(w, v).transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)

    def forward(self, x, pad=None):
        x = x + self.attn(self.ln1(x), pad)
        h = self.fc(self.ln2(x))
        if self.variant == "gpt_op13":
            h = tnn.functional.gelu(h)
        else:
            h = tnn.functional.gelu(h, approximate="tanh")
        return x + self.proj(h)


class GPT(tnn.Module):
    def __init__(self, variant, vocab=64, d=32, heads=4, layers=2, max_pos=32):
        super().__init__()
        self.wte = tnn.Embedding(vocab, d)
        self.wpe = tnn.Embedding(max_pos, d)
        self.blocks = tnn.ModuleList([Block(d, heads, max_pos, variant) for _ in range(layers)])
        self.ln_f = tnn.LayerNorm(d)
        self.lm_head = tnn.Linear(d, vocab, bias=False)
        self.lm_head.weight = self.wte.weight

    def forward(self, input_ids, attention_mask=None):
        B, T = input_ids.size()
        pad = None
        if attention_mask is None:
            pos = torch.arange(T, dtype=torch.long, device=input_ids.device).unsqueeze(0).expand(B, T)
        else:  # as Hugging Face's models do: positions count the unmasked tokens, masked keys get -inf
            pos = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
            pad = (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        x = self.wte(input_ids) + self.wpe(pos)
        for b in self.blocks:
            x = b(x, pad)
        return self.lm_head(self.ln_f(x))


def build(variant, seed, **kw):
    torch.manual_seed(seed)
    m = GPT(variant, **kw)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.endswith("weight") and p.dim() == 2:
                p.normal_(0, 0.3 if "wte" in name or "wpe" in name else 0.15)
            elif "ln" in name:
                p.copy_(torch.rand_like(p) + 0.5 if name.endswith("weight") else torch.randn_like(p) * 0.1)
            else:
                p.normal_(0, 0.05)
    return m.eval()


def export(m, path, opset, mask=False):
    ids = torch.randint(0, 64, (2, 7))
    args, names, axes = (ids,), ["input_ids"], {"input_ids": {0: "batch", 1: "sequence"}, "logits": {0: "batch", 1: "sequence"}}
    if mask:
        args, names = (ids, torch.ones(2, 7, dtype=torch.long)), names + ["attention_mask"]
        axes["attention_mask"] = {0: "batch", 1: "sequence"}
    torch.onnx.export(m, args, path, input_names=names, output_names=["logits"], opset_version=opset,
                      dynamic_axes=axes, do_constant_folding=True)


@torch.no_grad()
def stats(m, seq):
    logits = m(torch.tensor([seq]))[0, :-1].double()
    logp = torch.log_softmax(logits, dim=-1)
    lp = logp.gather(-1, torch.tensor(seq[1:])[:, None])[:, 0]
    p = logp.exp()
    mu = (p * logp).sum(-1)
    s2 = (p * logp.square()).sum(-1) - mu.square()
    return lp.tolist(), mu.tolist(), s2.tolist()


def main():
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(7)
    seqs = [torch.randint(0, 64, (int(n),), generator=g).tolist() for n in (2, 5, 9, 16, 23, 31)]
    for i, (variant, opset) in enumerate((("gpt_op13", 13), ("gpt_op17", 17), ("gpt_mask", 14))):
        m = build("gpt_op17" if variant == "gpt_mask" else variant, 100 + i)
        export(m, os.path.join(OUT, variant + ".onnx"), opset, mask=variant == "gpt_mask")
        exp = {"token_ids": seqs, "token_logprobs": [], "mu": [], "sigma2": []}
        for s in seqs:
            lp, mu, s2 = stats(m, s)
            exp["token_logprobs"].append(lp)
            exp["mu"].append(mu)
            exp["sigma2"].append(s2)
        # A batch of two equal-length sequences must give the same logits as each alone.
        a, b = seqs[3], seqs[2] + seqs[2][:7]
        with torch.no_grad():
            both = m(torch.tensor([a, b]))
            alone = m(torch.tensor([a]))[0]
        assert torch.allclose(both[0], alone, atol=1e-5), "batched logits differ"
        with open(os.path.join(OUT, variant + "_expected.json"), "w") as f:
            json.dump(exp, f)
    with open(os.path.join(OUT, "gpt_tokens.jsonl"), "w") as f:
        for i, s in enumerate(seqs):
            f.write(json.dumps({"token_ids": s, "label": i % 2 == 0}) + "\n")


if __name__ == "__main__":
    main()
