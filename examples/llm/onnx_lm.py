#!/usr/bin/env python3
"""examples/llm: a language model audited by running it in Go (pmeter llm score), from ONNX and token ids.

A GPT-2-shaped model (scripts/onnx/tiny_gpt.py's class: two blocks, torch only, no transformers) is
fine-tuned on 150 member sentences of a small synthetic grammar; 150 non-member sentences come from the
same grammar, and 100 more are a reference corpus for DC-PDD. The script exports the model to ONNX and
writes the sentences as token ids; pmeter does the rest without Python:

    /usr/bin/python3 examples/llm/onnx_lm.py /tmp/onnx-lm        # model.onnx, tokens.jsonl, corpus.jsonl
    pmeter llm score /tmp/onnx-lm/model.onnx --tokens /tmp/onnx-lm/tokens.jsonl --eos 0 \\
        --corpus /tmp/onnx-lm/corpus.jsonl --ref untuned=/tmp/onnx-lm/untuned.onnx --out /tmp/onnx-lm/bundle
    pmeter attack /tmp/onnx-lm/bundle --attack all --out /tmp/onnx-lm/attack
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "onnx"))
import tiny_gpt  # noqa: E402

out = sys.argv[1] if len(sys.argv) > 1 else "onnx-lm"
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)
torch.set_num_threads(1)
g = torch.Generator().manual_seed(1)

subjects = "the cat|a dog|my neighbour|the old sailor|a small child|the committee|our teacher|the robot".split("|")
verbs = "sees|likes|paints|remembers|follows|builds|forgets|describes".split("|")
objects = "the river|a red house|the last train|an open window|the quiet garden|a broken clock|the market|a letter".split("|")
tails = "today|at night|in spring|again|slowly|with care|before dawn|for years".split("|")
vocab = ["<eos>", "and"] + sorted({w for grp in (subjects, verbs, objects, tails) for p in grp for w in p.split()})
index = {w: i for i, w in enumerate(vocab)}


def pick(xs):
    return xs[int(torch.randint(len(xs), (1,), generator=g))]


def sentence():
    parts = [pick(subjects), pick(verbs), pick(objects), pick(tails)]
    if int(torch.randint(2, (1,), generator=g)):
        parts += ["and", pick(verbs), pick(objects)]
    return " ".join(parts)


texts = [sentence() for _ in range(400)]      # 0-149 members, 150-299 non-members, 300-399 corpus
ids = [[index[w] for w in t.split()] for t in texts]
V = 64                                         # the vocabulary (49 words) padded, as tiny_gpt's default


def model(epochs):
    m = tiny_gpt.build("gpt_op17", 5, vocab=V, d=32, heads=4, layers=2, max_pos=32).train()
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    for _ in range(epochs):
        for i in range(150):
            x = torch.tensor([ids[i]])
            loss = torch.nn.functional.cross_entropy(m(x)[0, :-1], x[0, 1:])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return m.eval()


tiny_gpt.export(model(8), os.path.join(out, "model.onnx"), 17)
tiny_gpt.export(model(0), os.path.join(out, "untuned.onnx"), 17)
with open(os.path.join(out, "tokens.jsonl"), "w") as f:
    for i in range(300):
        f.write(json.dumps({"token_ids": ids[i], "label": i < 150, "text": texts[i]}) + "\n")
with open(os.path.join(out, "corpus.jsonl"), "w") as f:
    for i in range(300, 400):
        f.write(json.dumps(ids[i]) + "\n")
print(f"wrote {out}/model.onnx, untuned.onnx, tokens.jsonl, corpus.jsonl")
