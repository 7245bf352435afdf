"""Slice metrics with TF Privacy's slicing semantics, written from its description, for pmeter's test.

TF Privacy (tensorflow_privacy/privacy/privacy_tests/membership_inference_attack, dataset_slicing.py and
data_structures.py) slices an attack's input by custom group indices (SlicingSpec.all_custom_train_indices
and all_custom_test_indices; SlicingFeature.CUSTOM): the slices are the group values that occur among the
training (member) records *and* among the test (non-member) records — the intersection of the two sets of
values — and a slice holds the members with that value and the non-members with that value. Each slice
is attacked on its own; the threshold attack's AUC is the area under the ROC curve of the scores of the
slice's members against its non-members, as TF Privacy computes it with scikit-learn's roc_curve and auc:
one curve point per distinct score (ties move together), from (0, 0), trapezoids between the points.
That computation is written out here in NumPy so that the script needs NumPy only.
The entire data set is a slice too (SingleSliceSpec() with entire_dataset).

Usage: tfp_slices.py IN.csv OUT.json, IN.csv with columns score, member (0/1) and one column per slicing
feature (group values as text). OUT.json maps "column = value" (and "entire dataset") to
{"auc", "members", "non_members"}.
"""
import csv
import json
import sys

import numpy as np


def slice_auc(scores, members):
    order = np.argsort(-scores, kind="mergesort")
    s, y = scores[order], members[order].astype(float)
    last = np.r_[np.where(np.diff(s))[0], s.size - 1]  # the last index of each distinct score
    tps, fps = np.cumsum(y)[last], (last + 1) - np.cumsum(y)[last]
    tpr = np.r_[0, tps] / tps[-1]
    fpr = np.r_[0, fps] / fps[-1]
    trapezoid = getattr(np, "trapezoid", None) or np.trapz  # NumPy 2 renamed it
    return float(trapezoid(tpr, fpr))


def main(inp, out):
    with open(inp) as f:
        rows = list(csv.DictReader(f))
    scores = np.array([float(r["score"]) for r in rows])
    members = np.array([r["member"] == "1" for r in rows])
    features = [k for k in rows[0] if k not in ("score", "member")]
    result = {"entire dataset": {"auc": slice_auc(scores, members), "members": int(members.sum()),
                                 "non_members": int((~members).sum())}}
    for col in features:
        groups = np.array([r[col] for r in rows])
        train_values = np.unique(groups[members])
        test_values = np.unique(groups[~members])
        for g in np.intersect1d(train_values, test_values, assume_unique=True):
            idx = groups == g
            result[f"{col} = {g}"] = {"auc": slice_auc(scores[idx], members[idx]),
                                      "members": int((idx & members).sum()),
                                      "non_members": int((idx & ~members).sum())}
    with open(out, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
