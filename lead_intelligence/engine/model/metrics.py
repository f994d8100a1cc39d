"""Validation figures of predicted probabilities: ROC AUC, PR AUC, Brier score, calibration, lift per tier."""

import numpy as np


def calibration(y, probability, bins=10):
    """Mean predicted probability and observed win rate per decile of the predictions.

    :return: list of (decile 1..bins, mean predicted, observed rate, count), lowest predictions first
    """
    y = np.asarray(y, dtype=np.float64)
    probability = np.asarray(probability, dtype=np.float64)
    order = np.argsort(probability, kind="stable")
    rows = []
    for decile, part in enumerate(np.array_split(order, bins), start=1):
        if len(part):
            rows.append((decile, float(probability[part].mean()), float(y[part].mean()), len(part)))
    return rows


def tier_stats(y, score, thresholds):
    """Count, conversion rate and lift of each tier, the tiers cut on the 0-100 ``score``.

    :param thresholds: the tiers' minimum scores, any order
    :return: list aligned with ``thresholds`` of (count, conversion rate, lift); rate
        and lift are 0 for an empty tier, lift is the tier's rate over the overall rate
    """
    y = np.asarray(y, dtype=np.float64)
    score = np.asarray(score, dtype=np.float64)
    thresholds = np.asarray(thresholds, dtype=np.float64)
    order = np.argsort(thresholds, kind="stable")
    position = np.clip(np.searchsorted(thresholds[order], score, side="right") - 1, 0, None)
    tier = order[position] if len(order) else np.zeros(0, dtype=np.int64)
    overall = float(y.mean()) if len(y) else 0.0
    stats = []
    for index in range(len(thresholds)):
        members = tier == index
        count = int(members.sum())
        rate = float(y[members].mean()) if count else 0.0
        stats.append((count, rate, rate / overall if overall > 0 else 0.0))
    return stats


def evaluate(y, probability, tier_thresholds=()):
    """Validation figures of predictions ``probability`` for outcomes ``y`` (1 won, 0 lost)."""
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    y = np.asarray(y, dtype=np.int64)
    probability = np.asarray(probability, dtype=np.float64)
    both = len(np.unique(y)) == 2
    return {
        "roc_auc": float(roc_auc_score(y, probability)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, probability)) if both else float("nan"),
        "brier": float(brier_score_loss(y, probability)) if len(y) else float("nan"),
        "calibration": calibration(y, probability),
        "tiers": tier_stats(y, 100.0 * probability, tier_thresholds),
        "n": len(y), "n_won": int(y.sum()),
    }
