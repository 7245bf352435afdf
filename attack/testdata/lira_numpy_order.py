# Cross-check data for TestLiRACompatNumpyOrder (attack/lira_numpy_test.go): records whose IN (or OUT)
# values are all equal, so that their standard deviation is exactly 0 only where NumPy's mean rounds back
# to that value, which depends on NumPy's summation order along the model axis.
#
# Run with: /usr/bin/python3 attack/testdata/lira_numpy_order.py OUTDIR   (NumPy 1.24.2, SciPy 1.10.1)
#
# It writes OUTDIR/cases.json and, per case, OUTDIR/<case>/keep.npy (M x N bool), scores.npy (M x N x Q
# float64, models x records x queries) and, per variant, <variant>_{prediction,mean_in,std_in,mean_out,
# std_out}.npy: the reference prediction (lower = member) and the Gaussians' parameters as the reference
# code hands them to scipy (std with its + 1e-30 guard), as float64.
#
# The reference computations restate, operation for operation, the LiRA reference code (tensorflow/privacy
# research/mi_lira_2021 plot.py generate_ours and generate_ours_offline, as called by do_plot with the
# target's row as the test model) and Privacy Meter v1's benchmark attack loop (benchmark/main.py: the
# IN/OUT arrays cast to float32). What matters for the bits is kept as it is there: the truncated
# per-record lists stacked with np.array into a C-contiguous (N, k, Q) array (N, k for a Privacy Meter v1
# signal without augmentations), np.median and np.std along axis 1, np.std of the whole array for fixed
# variance, and scipy.stats.norm on the result plus 1e-30.
import json
import os
import sys

import numpy as np
import scipy.stats

MEMORISED = np.log(1 + 1e-45) - np.log(1e-45)  # 103.616..., p_y = 1 in LiRA's score.py


def lira_online(keep, scores, check_keep, check_scores, fix_variance):
    # plot.py generate_ours (in_size = out_size = 100000).
    dat_in = [scores[keep[:, j], j, :] for j in range(scores.shape[1])]
    dat_out = [scores[~keep[:, j], j, :] for j in range(scores.shape[1])]
    in_size = min(min(map(len, dat_in)), 100000)
    out_size = min(min(map(len, dat_out)), 100000)
    dat_in = np.array([x[:in_size] for x in dat_in])
    dat_out = np.array([x[:out_size] for x in dat_out])
    mean_in = np.median(dat_in, 1)
    mean_out = np.median(dat_out, 1)
    if fix_variance:
        std_in = np.std(dat_in)
        std_out = np.std(dat_in)  # the reference code's: IN values for both sides
    else:
        std_in = np.std(dat_in, 1)
        std_out = np.std(dat_out, 1)
    prediction = []
    for sc in check_scores:
        pr_in = -scipy.stats.norm.logpdf(sc, mean_in, std_in + 1e-30)
        pr_out = -scipy.stats.norm.logpdf(sc, mean_out, std_out + 1e-30)
        prediction.extend((pr_in - pr_out).mean(1))
    return prediction, (mean_in, std_in + 1e-30, mean_out, std_out + 1e-30)


def lira_offline(keep, scores, check_keep, check_scores, fix_variance):
    # plot.py generate_ours_offline (out_size = 100000).
    dat_out = [scores[~keep[:, j], j, :] for j in range(scores.shape[1])]
    out_size = min(min(map(len, dat_out)), 100000)
    dat_out = np.array([x[:out_size] for x in dat_out])
    mean_out = np.median(dat_out, 1)
    if fix_variance:
        std_out = np.std(dat_out)
    else:
        std_out = np.std(dat_out, 1)
    prediction = []
    for sc in check_scores:
        prediction.extend(scipy.stats.norm.logpdf(sc, mean_out, std_out + 1e-30).mean(1))
    return prediction, (None, None, mean_out, std_out + 1e-30)


def pmv1(signals, keep_matrix, alg, num_in_models, num_out_models):
    # Privacy Meter v1 benchmark/main.py: target = signals[:1], references = the rest, IN/OUT arrays
    # truncated and cast to float32; signals are M x N, or M x N x A with augmentations.
    target_signal, reference_signals = signals[:1], signals[1:]
    membership, reference_keep_matrix = keep_matrix[:1], keep_matrix[1:]
    in_signals = [reference_signals[reference_keep_matrix[:, j], j] for j in range(signals.shape[1])]
    out_signals = [reference_signals[~reference_keep_matrix[:, j], j] for j in range(signals.shape[1])]
    in_size = min(min(map(len, in_signals)), num_in_models)
    out_size = min(min(map(len, out_signals)), num_out_models)
    in_signals = np.array([x[:in_size] for x in in_signals]).astype("float32")
    out_signals = np.array([x[:out_size] for x in out_signals]).astype("float32")
    mean_in = std_in = None
    prediction = []
    for sc in target_signal:
        mean_out = np.median(out_signals, 1)
        if alg.startswith("reference_in_out"):
            mean_in = np.median(in_signals, 1)
            if alg.endswith("_fixed"):
                std_in = std_out = np.std(in_signals)  # the original's: IN values for both sides
            else:
                std_in, std_out = np.std(in_signals, 1), np.std(out_signals, 1)
            score = (-scipy.stats.norm.logpdf(sc, mean_in, std_in + 1e-30)
                     + scipy.stats.norm.logpdf(sc, mean_out, std_out + 1e-30))
        else:
            std_out = np.std(out_signals) if alg.endswith("_fixed") else np.std(out_signals, 1)
            if "percentile" in alg:
                score = -scipy.stats.norm.cdf(sc, mean_out, std_out + 1e-30)
            else:
                score = scipy.stats.norm.logpdf(sc, mean_out, std_out + 1e-30)
        prediction.extend(score.mean(1) if score.ndim == 2 else score)
    guard = lambda s: None if s is None else s + 1e-30
    return prediction, (mean_in, guard(std_in), mean_out, guard(std_out))


def make_case(rng, m_in, m_out, n, q, target):
    """keep (M x N) and scores (M x N x Q): every record has at least m_in IN and m_out OUT models among
    the models other than target (record 0 exactly m_in IN, record 1 exactly m_out OUT), and records 0-5
    have equal values on a side."""
    m = m_in + m_out + 3
    shadows = [s for s in range(m) if s != target]
    keep = np.zeros((m, n), dtype=bool)
    for j in range(n):
        extra = 0 if j == 0 else 2 if j == 1 else int(rng.integers(0, 3))
        ins = rng.permutation(shadows)[: m_in + extra]
        keep[ins, j] = True
        keep[target, j] = rng.random() < 0.5
    base = rng.normal(0, 2, size=(1, n, q))
    scores = base + rng.normal(0, 0.4, size=(m, n, q)) + keep[:, :, None]
    ties = rng.random(scores.shape) < 0.2
    scores = np.where(ties, np.round(scores, 1), np.round(scores, 3))  # decimals, with ties for the medians
    # (record, IN value or None, OUT value or None); the target's own score is the value or 0.25 off it.
    const = [(0, MEMORISED, None), (1, 0.1, None), (2, 1 / 3, None), (3, 2.675, 0.1),
             (4, None, 1 / 3), (5, -7.3, 2.675)]
    for j, vin, vout in const:
        for side, v in ((True, vin), (False, vout)):
            if v is None:
                continue
            rows = [s for s in shadows if keep[s, j] == side]
            scores[rows, j, :] = v
            if q > 1 and j == 5 and side:
                scores[rows, j, 1] = 0.7
        v = vin if vin is not None else vout
        scores[target, j, :] = v if j % 2 == 0 else v + 0.25
    return keep, scores


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(20240917)
    sizes = [(1, 1), (2, 3), (3, 2), (7, 8), (8, 7), (9, 9), (16, 10), (130, 12), (12, 130)]
    specs = []
    for k_in, k_out in sizes:
        for q in (1, 2):
            specs.append(dict(name=f"in{k_in}_out{k_out}_q{q}", m_in=k_in, m_out=k_out, n=10, q=q))
    # Enough values that the whole-array sum of np.std(dat) runs over more than one 8192-element buffer.
    specs.append(dict(name="in9_out9_q2_n600", m_in=9, m_out=9, n=600, q=2))
    specs.append(dict(name="in16_out16_q1_n600", m_in=16, m_out=16, n=600, q=1))
    specs.append(dict(name="in8_out8_q3", m_in=8, m_out=8, n=10, q=3))
    manifest = []
    for spec in specs:
        m = spec["m_in"] + spec["m_out"] + 3
        target = int(rng.integers(0, m))
        keep, scores = make_case(rng, spec["m_in"], spec["m_out"], spec["n"], spec["q"], target)
        d = os.path.join(out, spec["name"])
        os.makedirs(d)
        np.save(os.path.join(d, "keep.npy"), keep)
        np.save(os.path.join(d, "scores.npy"), scores)
        ref = [s for s in range(m) if s != target]
        variants = []

        def save(name, cfg, prediction, stats):
            np.save(os.path.join(d, name + "_prediction.npy"), np.asarray(prediction, dtype=np.float64))
            shape = stats[2].shape
            for key, v in zip(("mean_in", "std_in", "mean_out", "std_out"), stats):
                if v is not None:
                    v = np.broadcast_to(np.asarray(v), shape).astype(np.float64)
                    np.save(os.path.join(d, f"{name}_{key}.npy"), v)
            variants.append(dict(name=name, **cfg))

        for fix in (False, True):
            suffix = "_fixed_variance" if fix else ""
            args = (keep[ref], scores[ref], keep[target:target + 1], scores[target:target + 1], fix)
            save("online" + suffix, dict(online=True, fix_variance=fix), *lira_online(*args))
            save("offline" + suffix, dict(online=False, fix_variance=fix), *lira_offline(*args))
        # Privacy Meter v1: the target first, the others in order; no augmentation axis for one query.
        order = [target] + ref
        signals = scores[order] if spec["q"] > 1 else scores[order][:, :, 0]
        nin = nout = 100
        for alg in ("reference_in_out_logit_pdf", "reference_out_logits_percentile", "reference_out_logits_pdf"):
            for fix in (False, True):
                name = alg + ("_fixed" if fix else "")
                cfg = dict(online=alg.startswith("reference_in_out"), fix_variance=fix, float32=True,
                           offline_test="one-sided" if "percentile" in alg else "two-sided",
                           num_in=nin, num_out=nout)
                save(name, cfg, *pmv1(signals, keep[order], name, nin, nout))
        manifest.append(dict(name=spec["name"], target=target, variants=variants))
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(dict(numpy=np.__version__, scipy=scipy.__version__, cases=manifest), f, indent=1)


if __name__ == "__main__":
    main()
