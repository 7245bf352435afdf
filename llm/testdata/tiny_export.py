#!/usr/bin/env python3
"""Test of examples/llm/export_logprobs.py with a tiny torch-only causal LM (transformers is not needed):
fine-tunes a one-layer causal transformer on the member texts (and three shadow LMs on random halves), exports the layout to argv[1]/bundle, and
writes argv[1]/expected.json with values computed independently of the script (torch's cross_entropy
per text; one token's log-probability from a forward pass over the prefix alone)."""
import json
import os
import sys

import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "examples", "llm"))
from export_logprobs import export  # noqa: E402

out = sys.argv[1]
torch.manual_seed(0)
torch.set_num_threads(1)
V, D, T = 40, 24, 14


class TinyLM(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(V, D)
        self.pos = torch.nn.Embedding(64, D)
        self.att = torch.nn.MultiheadAttention(D, 2, batch_first=True)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(D, 2 * D), torch.nn.GELU(), torch.nn.Linear(2 * D, D))
        self.ln1, self.ln2 = torch.nn.LayerNorm(D), torch.nn.LayerNorm(D)
        self.head = torch.nn.Linear(D, V)

    def forward(self, ids):
        n = ids.shape[1]
        x = self.emb(ids) + self.pos(torch.arange(n))[None]
        mask = torch.triu(torch.ones(n, n, dtype=torch.bool), 1)
        h = self.ln1(x)
        x = x + self.att(h, h, h, attn_mask=mask, need_weights=False)[0]
        x = x + self.mlp(self.ln2(x))
        return self.head(x)


def tokenize(text):
    return [int(w[1:]) for w in text.split()]


g = torch.Generator().manual_seed(1)
texts = [" " + " ".join(f"w{int(i)}" for i in torch.randint(1, V, (int(torch.randint(6, T, (1,), generator=g)),), generator=g))
         for _ in range(100)]
labels = [i < 40 for i in range(100)]  # 0-39 members, 40-79 non-members, 80-99 population


def train(members, epochs=20):
    model = TinyLM()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for epoch in range(epochs):
        for i in members:
            ids = torch.tensor([tokenize(texts[i])])
            loss = torch.nn.functional.cross_entropy(model(ids)[0, :-1], ids[0, 1:])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


model = train(range(40))
ref = TinyLM().eval()  # an untrained reference model
# Three shadow LMs, each fine-tuned on its own random half of the 80 audited texts.
shadows = {}
for k in range(3):
    half = torch.randperm(80, generator=g)[:40].tolist()
    shadows[f"s{k}"] = (train(half), tokenize, [i in half for i in range(100)])

export(os.path.join(out, "bundle"), model, tokenize, texts, labels, eos_token_id=0,
       refs={"untrained": (ref, tokenize)}, prefix_texts=[texts[79]], prefix_sequences=[79],
       shadows=shadows, population=[i >= 80 for i in range(100)],
       neighbors=[[t + " w1", t + " w2"] for t in texts], corpus=texts[40:], vocab_size=V,
       target_model="tiny")

with torch.no_grad():
    losses = []
    for t in texts:
        ids = torch.tensor([tokenize(t)])
        losses.append(float(torch.nn.functional.cross_entropy(model(ids)[0, :-1].double(), ids[0, 1:])))
    ids = torch.tensor([tokenize(texts[3])])
    k = 4  # log p(token k | tokens < k) from a pass over the first k + 1 tokens only
    lp_k = float(torch.log_softmax(model(ids[:, :k + 1])[0, k - 1].double(), -1)[ids[0, k]])
json.dump({"loss": losses, "seq": 3, "k": k, "lp_k": lp_k}, open(os.path.join(out, "expected.json"), "w"))
