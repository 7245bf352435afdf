#!/usr/bin/python3
"""Baseline for `pmeter bench rmia`: RMIA in Privacy Meter v2's numpy formulation.

This computes what Privacy Meter v2 attacks.py run_rmia computes (ml_privacy_meter commit e384af8), in the
same numpy operations: the reference selection (first 2R models other than the target and its pair, IN
values zeroed, the R largest kept), the offline marginal ((1+a)/2 * mean + (1-a)/2), and the pairwise
comparison as one N x Z broadcast, ratio_x[:, None] / ratio_z > 1.0, averaged over the population axis.

Inputs are .npy files written by pmeter: signals N x M float64, population Z x M float64, members N x M
bool. It writes the scores (N float64) to --out and prints one JSON object to stdout:
  seconds       wall time of each timed run (time.perf_counter), without loading the inputs
  peak_bytes    peak bytes allocated by numpy during one run (tracemalloc; numpy reports its buffers)
  maxrss_delta_bytes  growth of the process's peak resident set during the runs (resource.getrusage)
  numpy         numpy version
"""

import argparse
import json
import resource
import sys
import time
import tracemalloc

import numpy as np


def reference_out_signals(signals, members, target, num_ref):
    """Privacy Meter's reference selection: rows x min(num_ref, #candidates)."""
    paired = target + 1 if target % 2 == 0 else target - 1
    cols = [c for c in range(signals.shape[1]) if c != target and c != paired][: 2 * num_ref]
    kept = signals[:, cols] * ~members[:, cols]
    return -np.sort(-kept, axis=1)[:, :num_ref]


def rmia(target, signals, population, members, num_ref, a):
    mean_x = (1 + a) / 2 * np.mean(reference_out_signals(signals, members, target, num_ref), axis=1) + (1 - a) / 2
    ratio_x = signals[:, target] / mean_x
    pop_members = np.zeros(population.shape, dtype=bool)
    mean_z = (1 + a) / 2 * np.mean(reference_out_signals(population, pop_members, target, num_ref), axis=1) + (1 - a) / 2
    ratio_z = population[:, target] / mean_z
    # The N x Z matrix of pairwise likelihood ratios, as Privacy Meter materialises it.
    return np.average(ratio_x[:, np.newaxis] / ratio_z > 1.0, axis=1)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--signals", required=True)
    p.add_argument("--population", required=True)
    p.add_argument("--members", required=True)
    p.add_argument("--target", type=int, default=0)
    p.add_argument("--num-ref", type=int, required=True)
    p.add_argument("--offline-a", type=float, default=0.0)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--out", required=True)
    args = p.parse_args()

    signals = np.load(args.signals)
    population = np.load(args.population)
    members = np.load(args.members)

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    scores = rmia(args.target, signals, population, members, args.num_ref, args.offline_a)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    seconds = []
    for _ in range(args.repeats):
        del scores
        t0 = time.perf_counter()
        scores = rmia(args.target, signals, population, members, args.num_ref, args.offline_a)
        seconds.append(time.perf_counter() - t0)
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    np.save(args.out, scores)
    json.dump({"seconds": seconds, "peak_bytes": peak, "maxrss_delta_bytes": (rss1 - rss0) * 1024,
               "numpy": np.__version__}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
