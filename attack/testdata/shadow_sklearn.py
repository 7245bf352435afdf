# Derives the expected coefficients of TestFitShadowLogisticSklearn (attack/shadow_test.go).
# Run with: /usr/bin/python3 attack/testdata/shadow_sklearn.py   (scikit-learn 1.2.1, NumPy 1.24.2)
# The datasets are the ones written out in the test; the fits are solved far past sklearn's default
# tolerance so that they stand for the exact minimiser: newton-cg (gradient ~1e-11) is the reference;
# lbfgs must agree with it to 1e-5.
import numpy as np
from sklearn.linear_model import LogisticRegression

# Dataset 1: Privacy Meter v1 ShadowMetric, 1-D loss signal, class_weight {0: n_member, 1: n_nonmember}.
x1 = np.array([0.05, 0.12, 0.31, 0.02, 0.44, 0.09, 0.87, 0.15, 0.26, 1.30,  # members
               0.71, 1.90, 0.38, 2.45, 1.12, 0.95, 3.10, 0.52, 1.66, 0.08,  # non-members
               2.20, 0.64])
y1 = np.array([1] * 10 + [0] * 12)
cw = {0: int((y1 == 1).sum()), 1: int((y1 == 0).sum())}

# Dataset 2: three sorted-probability-like features, sample weights n/(2 n_class), C = 0.5.
x2 = np.array([
    [0.91, 0.05, 0.02], [0.85, 0.10, 0.03], [0.97, 0.02, 0.01], [0.60, 0.30, 0.05],
    [0.88, 0.07, 0.03], [0.99, 0.01, 0.00], [0.75, 0.20, 0.03], [0.93, 0.04, 0.02],
    [0.55, 0.25, 0.12], [0.70, 0.18, 0.07], [0.45, 0.35, 0.10], [0.80, 0.12, 0.05],
    [0.62, 0.21, 0.09], [0.40, 0.33, 0.20], [0.95, 0.03, 0.01], [0.51, 0.29, 0.11],
])
y2 = np.array([1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0])
n, nin = len(y2), int(y2.sum())
sw = np.where(y2 == 1, n / (2 * nin), n / (2 * (n - nin)))

def grad(theta, x, y, w, C):
    # gradient of sum_i w_i log-loss_i + |coef|^2 / (2C), intercept unpenalised
    z = x @ theta[:-1] + theta[-1]
    r = w * (1 / (1 + np.exp(-z)) - y)
    g = np.concatenate([x.T @ r + theta[:-1] / C, [r.sum()]])
    return np.abs(g).max()

def fit(x, y, C, class_weight=None, sample_weight=None):
    w = sample_weight if sample_weight is not None else np.array([class_weight[v] for v in y], float)
    out = []
    for solver in ("lbfgs", "newton-cg"):
        m = LogisticRegression(solver=solver, tol=1e-10, max_iter=100000, C=C, class_weight=class_weight)
        m.fit(x, y, sample_weight=sample_weight)
        t = np.concatenate([m.coef_.ravel(), m.intercept_])
        print(solver, "max |gradient| =", grad(t, x, y, w, C))
        out.append(t)
    assert np.allclose(out[0], out[1], rtol=1e-5), out  # lbfgs stops earlier (its tolerance is on a scaled gradient)
    return out[1], m

t1, m1 = fit(x1[:, None], y1, class_weight=cw, C=1.0)
t2, m2 = fit(x2, y2, sample_weight=sw, C=0.5)
np.set_printoptions(precision=17)
print("dataset 1 coef, intercept:", repr(t1.tolist()))
print("dataset 1 predict_proba[:,1] at 0.1, 1.0:", repr(m1.predict_proba(np.array([[0.1], [1.0]]))[:, 1].tolist()))
print("dataset 2 coef, intercept:", repr(t2.tolist()))
