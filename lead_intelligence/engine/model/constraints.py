"""Monotonic constraints: behaviour that never lowers a lead's chance as it grows.

A model learns what the history says, and a history can say that more email
replies or more buying signals go with fewer wins (leads chased hardest are
often the hardest ones). A salesperson reads such a factor as absurd, and a
lead must not lose points for engaging. The columns of the features marked
increasing are constrained:

* logistic regression: their coefficients are at least 0 (a number is one
  standardised column and its quintile steps, see :class:`.Encoder`: every
  coefficient at least 0 makes the feature's effect non-decreasing). The
  penalised log-loss scikit-learn minimises is minimised again with those
  bounds (L-BFGS-B) only when the free fit broke one;
* gradient boosting: scikit-learn's ``monotonic_cst`` (+1) on those columns.

A column that says the value is missing is never constrained.
"""

import numpy as np


def increasing_columns(encoder, features):
    """(p,) bool: the encoded columns of ``encoder`` that belong to the features named ``features`` and
    hold their values (not their missing flag)."""
    names = set(features)
    spec_names = np.array([entry["name"] in names for entry in encoder.spec] or [False], dtype=bool)
    groups = np.asarray(encoder.groups, dtype=np.int64)
    in_feature = spec_names[groups] if len(groups) else np.zeros(0, dtype=bool)
    return in_feature & ~np.array([column.endswith(":missing") for column in encoder.columns], dtype=bool)


def fit_logreg_increasing(X, y, C, increasing, sample_weight=None, start=None):
    """Penalised logistic regression with the coefficients of the ``increasing`` columns at least 0.

    Minimises scikit-learn's objective, ``C * sum(weight * log-loss) + |coef|^2 / 2`` (the intercept is
    not penalised), by L-BFGS-B from ``start`` (coef, intercept) clipped to the bounds. Deterministic.

    :param increasing: (p,) bool
    :return: {"coef": (p,), "intercept": float}
    """
    from scipy.optimize import minimize
    from scipy.special import expit

    X = np.asarray(X, dtype=np.float64)
    n, p = X.shape
    sign = 2.0 * np.asarray(y, dtype=np.float64) - 1.0
    weight = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    increasing = np.asarray(increasing, dtype=bool)

    def objective(theta):
        coef = theta[:p]
        margin = sign * (X @ coef + theta[p])
        slope = -C * weight * sign * expit(-margin)  # d(loss)/d(log-odds) per row
        gradient = np.empty(p + 1)
        gradient[:p] = X.T @ slope + coef
        gradient[p] = slope.sum()
        return C * np.dot(weight, np.logaddexp(0.0, -margin)) + 0.5 * coef @ coef, gradient

    theta = np.zeros(p + 1)
    if start is not None:
        theta[:p], theta[p] = np.where(increasing, np.maximum(start["coef"], 0.0), start["coef"]), start["intercept"]
    bounds = [(0.0, None) if flag else (None, None) for flag in increasing] + [(None, None)]
    found = minimize(objective, theta, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": 5000})
    return {"coef": found.x[:p].astype(np.float64), "intercept": float(found.x[p])}
