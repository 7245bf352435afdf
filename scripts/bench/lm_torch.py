"""PyTorch CPU baseline of 'pmeter bench lm': builds a GPT-2-shaped model with random weights (the class of
scripts/onnx/tiny_gpt.py, no transformers), exports it to OUTDIR/model.onnx, draws token ids
(OUTDIR/tokens.npy, int64 N x T), and times PyTorch computing what 'pmeter llm score' computes: the
logits of the N sequences in one batch (timed alone as forward_seconds), then in float64 each token's
log-probability and the mean and variance of log p under the next-token distribution (seconds: both). It writes PyTorch's log-probabilities
(OUTDIR/torch_lp.npy, float64 N x (T-1)) and prints one JSON object with the timings.

    /usr/bin/python3 scripts/bench/lm_torch.py OUTDIR --d 256 --layers 4 --heads 4 --vocab 4096 --seq 128 --n 16
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "onnx"))
import tiny_gpt  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--d", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    m = tiny_gpt.build("gpt_op17", a.seed, vocab=a.vocab, d=a.d, heads=a.heads, layers=a.layers, max_pos=a.seq)
    tiny_gpt.export(m, os.path.join(a.out, "model.onnx"), 17)
    g = torch.Generator().manual_seed(a.seed)
    ids = torch.randint(0, a.vocab, (a.n, a.seq), generator=g)
    np.save(os.path.join(a.out, "tokens.npy"), ids.numpy())
    seconds, forward = [], []
    with torch.no_grad():
        m(ids[:1, :8])  # warm-up
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            logits = m(ids)
            forward.append(time.perf_counter() - t0)
            logp = torch.log_softmax(logits[:, :-1].double(), dim=-1)
            lp = logp.gather(-1, ids[:, 1:, None])[..., 0]
            p = logp.exp()
            mu = (p * logp).sum(-1)
            s2 = (p * (logp - mu[..., None]).square()).sum(-1)
            seconds.append(time.perf_counter() - t0)
    np.save(os.path.join(a.out, "torch_lp.npy"), lp.numpy())
    print(json.dumps({"seconds": seconds, "forward_seconds": forward, "threads": torch.get_num_threads(), "torch": torch.__version__,
                      "params": sum(p.numel() for p in m.parameters())}))


if __name__ == "__main__":
    main()
