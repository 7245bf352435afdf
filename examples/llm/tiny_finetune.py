#!/usr/bin/env python3
"""examples/llm: a synthetic fine-tuning set, audited end to end in under a minute on a CPU.

A one-layer causal transformer (torch only, no transformers) is fine-tuned on 150 member sentences drawn
from a small synthetic grammar; 150 non-member sentences come from the same grammar (so the blind
baselines should find nothing), and 100 more form RMIA's population. Four shadow LMs are fine-tuned the
same way on random halves of the 300 audited sentences. export_logprobs.export writes the bundle:

    python3 examples/llm/tiny_finetune.py /tmp/llm-example          # writes /tmp/llm-example/bundle
    pmeter attack /tmp/llm-example/bundle --attack all --out /tmp/llm-example/attack
    pmeter run examples/llm/text.yaml                                 # the same, as a configured run
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_logprobs import export  # noqa: E402

out = sys.argv[1] if len(sys.argv) > 1 else "llm-example"
torch.manual_seed(0)
torch.set_num_threads(1)

subjects = "the cat|a dog|my neighbour|the old sailor|a small child|the committee|our teacher|the robot".split("|")
verbs = "sees|likes|paints|remembers|follows|builds|forgets|describes".split("|")
objects = "the river|a red house|the last train|an open window|the quiet garden|a broken clock|the market|a letter".split("|")
tails = "today|at night|in spring|again|slowly|with care|before dawn|for years".split("|")
vocab = ["<eos>"] + sorted({w for group in (subjects, verbs, objects, tails) for phrase in group for w in phrase.split()})
index = {w: i for i, w in enumerate(vocab)}
g = torch.Generator().manual_seed(1)


def pick(xs):
    return xs[int(torch.randint(len(xs), (1,), generator=g))]


def sentence():
    parts = [pick(subjects), pick(verbs), pick(objects), pick(tails)]
    if int(torch.randint(2, (1,), generator=g)):
        parts += ["and", pick(verbs), pick(objects)]
    return " " + " ".join(parts)


vocab.append("and")
index["and"] = len(vocab) - 1
texts = [sentence() for _ in range(400)]
labels = [i < 150 for i in range(400)]          # 0-149 members, 150-299 non-members, 300-399 population
population = [i >= 300 for i in range(400)]


def tokenize(text):
    return [index[w] for w in text.split()]


V, D = len(vocab), 32


class TinyLM(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb, self.pos = torch.nn.Embedding(V, D), torch.nn.Embedding(64, D)
        self.att = torch.nn.MultiheadAttention(D, 2, batch_first=True)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(D, 4 * D), torch.nn.GELU(), torch.nn.Linear(4 * D, D))
        self.ln1, self.ln2, self.head = torch.nn.LayerNorm(D), torch.nn.LayerNorm(D), torch.nn.Linear(D, V)

    def forward(self, ids):
        n = ids.shape[1]
        x = self.emb(ids) + self.pos(torch.arange(n))[None]
        h = self.ln1(x)
        x = x + self.att(h, h, h, attn_mask=torch.triu(torch.ones(n, n, dtype=torch.bool), 1), need_weights=False)[0]
        return self.head(x + self.mlp(self.ln2(x)))


def finetune(members, epochs=6):
    model = TinyLM()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(epochs):
        for i in members:
            ids = torch.tensor([tokenize(texts[i])])
            loss = torch.nn.functional.cross_entropy(model(ids)[0, :-1], ids[0, 1:])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


target = finetune(range(150))
shadows = {}
for k in range(4):
    half = torch.randperm(300, generator=g)[:150].tolist()
    shadows[f"shadow{k}"] = (finetune(half), tokenize, [i in half for i in range(400)])
export(os.path.join(out, "bundle"), target, tokenize, texts, labels, eos_token_id=0,
       refs={"untuned": (TinyLM().eval(), tokenize)}, prefix_texts=[texts[299]], prefix_sequences=[299],
       shadows=shadows, population=population, corpus=texts[300:], vocab_size=V, target_model="tiny-finetuned")
print(f"wrote {out}/bundle")
