#!/usr/bin/python3
"""Baseline for `pmeter bench roc`: scikit-learn roc_curve + auc, as Privacy Meter computes them.

Inputs are .npy files written by pmeter: scores (n float64, higher = member) and labels (n bool). It times
fpr, tpr, _ = roc_curve(labels, scores) (drop_intermediate=True, the default) followed by auc(fpr, tpr) and
prints one JSON object to stdout:
  seconds       wall time of each timed run (time.perf_counter), without loading the inputs
  peak_bytes    peak bytes allocated during one run (tracemalloc; numpy reports its buffers)
  maxrss_delta_bytes  growth of the process's peak resident set during the runs (resource.getrusage)
  auc           the AUC (JSON writes the shortest repr, which reads back to the same float64)
  points        number of points of the curve
  numpy, sklearn  versions
"""

import argparse
import json
import resource
import sys
import time
import tracemalloc

import numpy as np
import sklearn
from sklearn.metrics import auc, roc_curve


def roc_auc(labels, scores):
    fpr, tpr, _ = roc_curve(labels, scores)
    return auc(fpr, tpr), len(fpr)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scores", required=True)
    p.add_argument("--labels", required=True)
    p.add_argument("--repeats", type=int, default=1)
    args = p.parse_args()

    scores = np.load(args.scores)
    labels = np.load(args.labels)

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    area, points = roc_auc(labels, scores)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    seconds = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        area, points = roc_auc(labels, scores)
        seconds.append(time.perf_counter() - t0)
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    json.dump({"seconds": seconds, "peak_bytes": peak, "maxrss_delta_bytes": (rss1 - rss0) * 1024,
               "auc": float(area), "points": points, "numpy": np.__version__, "sklearn": sklearn.__version__},
              sys.stdout)
    print()


if __name__ == "__main__":
    main()
