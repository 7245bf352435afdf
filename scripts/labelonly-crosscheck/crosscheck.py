#!/usr/bin/env python3
"""Independent implementation of the label-only data-augmentation attacks (Choquette-Choo, Tramer,
Carlini & Papernot, "Label-Only Membership Inference Attacks", ICML 2021) from the papers' pseudo-code,
on a random case, for pmeter's attack.Augmentation and attack.AugmentationLiRA.

It writes attack/testdata/labelonly_crosscheck.json: the inputs (memberships N x M, declared bernoulli,
correctness N x M x A) and the expected scores of target model 0:

  augmentation         (1/A) sum_a b_a                               (the thresholded attack)
  augmentation-lira    sum_a log Bern(b_a; p_in) - log Bern(b_a; p_out)   (online)
                       sum_a (b_a - p_out) / sqrt(p_out (1 - p_out))      (offline)
  with p = (1 + #correct) / (2 + #models) over the record's IN (OUT) models other than the target.

Run from the repository root: /usr/bin/python3 scripts/labelonly-crosscheck/crosscheck.py
"""
import json
import math

import numpy as np

rng = np.random.default_rng(17)
N, M, A = 40, 9, 6
members = rng.random((N, M)) < 0.5
members[0, 0], members[1, 0] = True, False  # the target has both
# A model that trained on a record is right more often under its augmentations.
p = np.where(members[:, :, None], 0.85, 0.55) * np.ones((N, M, A))
aug = rng.random((N, M, A)) < p

t = 0
thr, online, offline = [], [], []
for i in range(N):
    b = aug[i, t]
    thr.append(float(b.mean()))
    ins = [m for m in range(M) if m != t and members[i, m]]
    outs = [m for m in range(M) if m != t and not members[i, m]]
    on, off = 0.0, 0.0
    for a in range(A):
        p_in = (1 + sum(aug[i, m, a] for m in ins)) / (2 + len(ins))
        p_out = (1 + sum(aug[i, m, a] for m in outs)) / (2 + len(outs))
        if b[a]:
            on += math.log(p_in) - math.log(p_out)
        else:
            on += math.log(1 - p_in) - math.log(1 - p_out)
        off += (float(b[a]) - p_out) / math.sqrt(p_out * (1 - p_out))
    online.append(on)
    offline.append(off)

out = {"n": N, "m": M, "a": A, "members": members.astype(int).ravel().tolist(),
       "aug": aug.astype(int).ravel().tolist(), "augmentation": thr,
       "augmentation_lira_online": online, "augmentation_lira_offline": offline}
with open("attack/testdata/labelonly_crosscheck.json", "w") as f:
    json.dump(out, f)
print("wrote attack/testdata/labelonly_crosscheck.json")
