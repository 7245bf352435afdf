#!/usr/bin/env python3
"""Export per-token log-probabilities of a PyTorch causal language model in pmeter's LLM layout
("mia-llm-logprobs/1", see ../../README.md "Language models" and ../shared/vectors/README.llm.md).

pmeter never runs the model: this script does, once, and pmeter's attacks (LOSS, zlib, Min-K%, Min-K%++,
reference, ReCaLL, DC-PDD, neighbourhood, the sequence-level RMIA/LiRA over reference LMs) read what it
writes.

Library use, with any causal LM (a torch.nn.Module whose forward(ids) returns logits of shape
1 x T x V, or an object with .logits, as Hugging Face models do) and any tokenizer (a function from text
to a list of token ids):

    from export_logprobs import export
    export("bundle/", model, tokenize, texts, labels,
           eos_token_id=tok.eos_token_id,                  # DC-PDD's EOS-prefixed pass
           refs={"pythia-70m": (ref_model, ref_tokenize)},  # the reference attack
           shadows={"s0": (model0, tokenize, in0)},          # RMIA/LiRA: LMs fine-tuned with known memberships
           population=[...],                                # RMIA: texts in no model's training set
           prefix_texts=[nonmember_text],                   # ReCaLL's non-member prefix
           neighbors=[[neighbour texts of text 0], ...],    # the neighbourhood attack
           corpus=[reference corpus texts])                 # DC-PDD's token frequencies

Hugging Face (transformers installed):

    python3 export_logprobs.py --model EleutherAI/pythia-160m --members members.jsonl \\
        --nonmembers nonmembers.jsonl --out bundle/ [--ref EleutherAI/pythia-70m] [--recall-shots 1] \\
        [--corpus corpus.jsonl] [--device cuda] [--mimir-dtype]

where each .jsonl holds one {"text": ...} per line. Then: pmeter attack bundle/ --attack all --out res/

Numerics: by default the logits are upcast to float64 before log_softmax, so that log-probabilities,
mu and sigma2 = E[l^2] - mu^2 are accurate (in float32 sigma2 can come out negative, which pmeter
rejects). --mimir-dtype keeps the model's dtype, as MIMIR does, to reproduce its numbers. Frequency
counts are occurrence counts (the DC-PDD reference code); --mimir-dtype also switches them to MIMIR's
document frequency (meta.json records which).
"""
import argparse
import json
import os
import zlib

import numpy as np
import torch

FORMAT = "mia-llm-logprobs/1"


def _logits(model, ids):
    out = model(ids)
    return out.logits if hasattr(out, "logits") else out


@torch.no_grad()
def token_stats(model, ids, upcast=True):
    """ids: 1 x T LongTensor on the model's device. Returns float64 numpy arrays (lp, mu, sigma2) of the
    T - 1 predicted positions: row t predicts token t + 1."""
    logits = _logits(model, ids)[0, :-1]
    if upcast:
        logits = logits.double()
    logp = torch.log_softmax(logits, dim=-1)
    lp = logp.gather(-1, ids[0, 1:, None])[:, 0]
    p = logp.exp()
    mu = (p * logp).sum(-1)
    sigma2 = (p * logp.square()).sum(-1) - mu.square()
    return [x.double().cpu().numpy() for x in (lp, mu, sigma2)]


def _ragged(parts, dtype):
    off = np.zeros(len(parts) + 1, np.int64)
    off[1:] = np.cumsum([len(p) for p in parts])
    flat = np.concatenate([np.asarray(p, dtype) for p in parts]) if parts else np.zeros(0, dtype)
    return flat, off


def _ids(tokenize, text, device):
    return torch.tensor([list(tokenize(text))], dtype=torch.long, device=device)


def export(out, model, tokenize, texts, labels=None, eos_token_id=None, refs=None, prefix_texts=None,
           prefix_sequences=None, neighbors=None, corpus=None, vocab_size=None, mimir_dtype=False,
           device="cpu", target_model="", shadows=None, population=None):
    """Write the layout to the new directory out (it must not exist or be empty).

    shadows: {name: (model, tokenize, members)}, reference LMs fine-tuned like the target on known
    subsets (members: one bool per text); population: one bool per text, True for texts in no model's
    training set (RMIA's population)."""
    if os.path.isdir(out) and os.listdir(out):
        raise SystemExit(f"{out} exists and is not empty; export to a new directory")
    os.makedirs(out, exist_ok=True)
    upcast = not mimir_dtype
    cols = {k: [] for k in ("lp", "mu", "s2", "ids", "bos", "cond", "nl")}
    ref_cols = {name: [] for name in (refs or {})}
    shadow_cols = {name: [] for name in (shadows or {})}
    pre = None
    if prefix_texts:
        pre = _ids(tokenize, "".join(prefix_texts), device)
    for i, text in enumerate(texts):
        ids = _ids(tokenize, text, device)
        if ids.shape[1] < 2:
            raise SystemExit(f"text {i} has {ids.shape[1]} token(s); every text needs at least two")
        lp, mu, s2 = token_stats(model, ids, upcast)
        cols["lp"].append(lp)
        cols["mu"].append(mu)
        cols["s2"].append(s2)
        cols["ids"].append(ids[0].cpu().numpy())
        if eos_token_id is not None:
            eos = torch.full_like(ids[:, :1], eos_token_id)
            cols["bos"].append(token_stats(model, torch.cat([eos, ids], 1), upcast)[0])
        for name, (sh_model, sh_tokenize, _) in (shadows or {}).items():
            shadow_cols[name].append(token_stats(sh_model, _ids(sh_tokenize, text, device), upcast)[0])
        for name, (ref_model, ref_tokenize) in (refs or {}).items():
            ref_cols[name].append(token_stats(ref_model, _ids(ref_tokenize, text, device), upcast)[0])
        if pre is not None:
            # One pass over prefix + text: every text token is scored with its full context (MIMIR cuts
            # long concatenations into windows without context; pmeter's default does not need that).
            cols["cond"].append(token_stats(model, torch.cat([pre, ids], 1), upcast)[0][pre.shape[1] - 1:])
        if neighbors is not None:
            cols["nl"].append([-float(np.mean(token_stats(model, _ids(tokenize, t, device), upcast)[0]))
                               for t in neighbors[i]])

    def save(name, a):
        path = os.path.join(out, name + ".npy")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        np.save(path, np.ascontiguousarray(a), allow_pickle=False)

    meta = {"format": FORMAT, "n_sequences": len(texts), "target_model": target_model,
            "logits_dtype": "float64" if upcast else str(next(model.parameters()).dtype).replace("torch.", ""),
            "bos_added": False}
    if labels is not None:
        save("labels", np.asarray(labels, bool))
    for flat, off, key, dt in (("token_logprobs", "lp_offsets", "lp", np.float64),
                               ("token_ids", "token_offsets", "ids", np.int64),
                               ("cond_token_logprobs", "cond_lp_offsets", "cond", np.float64),
                               ("neighbor_losses", "neighbor_offsets", "nl", np.float64)):
        if cols[key]:
            f, o = _ragged(cols[key], dt)
            save(flat, f)
            save(off, o)
    save("mu", np.concatenate(cols["mu"]))
    save("sigma2", np.concatenate(cols["s2"]))
    if cols["bos"]:
        save("token_logprobs_bos", np.concatenate(cols["bos"]))
        meta["dc_pdd"] = {"eos_token_id": int(eos_token_id),
                          "counting": "document" if mimir_dtype else "occurrence"}
    if corpus is not None:
        counts = np.zeros(vocab_size or 0, np.int64)
        for doc in corpus:
            ids = np.asarray(list(tokenize(doc)), np.int64)
            if mimir_dtype:
                ids = np.unique(ids[:1024])  # MIMIR's _fre_dis: documents containing the token
            if len(ids) and ids.max() >= len(counts):
                counts = np.concatenate([counts, np.zeros(ids.max() + 1 - len(counts), np.int64)])
            np.add.at(counts, ids, 1)
        save("freq_counts", counts)
    for name, parts in ref_cols.items():
        f, o = _ragged(parts, np.float64)
        save(f"ref/{name}/token_logprobs", f)
        save(f"ref/{name}/lp_offsets", o)
    if refs:
        meta["reference_models"] = list(refs)
    for name, parts in shadow_cols.items():
        f, o = _ragged(parts, np.float64)
        save(f"shadow/{name}/token_logprobs", f)
        save(f"shadow/{name}/lp_offsets", o)
        save(f"shadow/{name}/members", np.asarray(shadows[name][2], bool))
    if population is not None:
        save("population", np.asarray(population, bool))
    if pre is not None:
        meta["recall"] = {"num_shots": len(prefix_texts), "prefix_len": int(pre.shape[1]),
                          "max_length": int(pre.shape[1]) + max(len(x) + 1 for x in cols["lp"])}
        if prefix_sequences:
            meta["recall"]["prefix_sequences"] = [int(s) for s in prefix_sequences]
    if neighbors is not None:
        meta["neighbors"] = {"n_perturbation_list": [min(len(n) for n in neighbors)]}
    save("zlib_len", np.array([len(zlib.compress(t.encode("utf-8"))) for t in texts], np.int64))
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    with open(os.path.join(out, "texts.json"), "w") as f:
        json.dump(list(texts), f)


def _read_jsonl(path):
    with open(path) as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="a Hugging Face causal LM name or path")
    ap.add_argument("--members", required=True, help="JSONL of {\"text\": ...}: texts in the training set")
    ap.add_argument("--nonmembers", required=True, help="JSONL of {\"text\": ...}: texts not in it")
    ap.add_argument("--out", required=True)
    ap.add_argument("--ref", action="append", default=[], help="a reference LM (repeatable)")
    ap.add_argument("--recall-shots", type=int, default=0, help="ReCaLL: non-member texts in the prefix")
    ap.add_argument("--corpus", help="JSONL reference corpus for DC-PDD's token frequencies")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--mimir-dtype", action="store_true", help="keep the model's dtype, as MIMIR does")
    a = ap.parse_args()
    from transformers import AutoModelForCausalLM, AutoTokenizer  # only for this command line

    def load(name):
        tok = AutoTokenizer.from_pretrained(name)
        model = AutoModelForCausalLM.from_pretrained(name).to(a.device).eval()
        return model, (lambda t: tok(t).input_ids), tok

    model, tokenize, tok = load(a.model)
    mem, non = _read_jsonl(a.members), _read_jsonl(a.nonmembers)
    texts, labels = mem + non, [True] * len(mem) + [False] * len(non)
    shots = non[:a.recall_shots]
    refs = {r.replace("/", "_"): load(r)[:2] for r in a.ref}
    export(a.out, model, tokenize, texts, labels, eos_token_id=tok.eos_token_id, refs=refs,
           prefix_texts=shots or None, prefix_sequences=list(range(len(mem), len(mem) + len(shots))),
           corpus=_read_jsonl(a.corpus) if a.corpus else None, vocab_size=len(tok),
           mimir_dtype=a.mimir_dtype, device=a.device, target_model=a.model)


if __name__ == "__main__":
    main()
