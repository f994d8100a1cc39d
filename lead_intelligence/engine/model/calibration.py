"""Calibration to today: the model's log-odds mapped so that its probabilities match recent outcomes.

A model learns from leads closed over months or years; when the conversion
rate moves (a new market, a new offer, a season), its probabilities are those
of the past. Calibration maps the model's log-odds ``z`` to ``slope * z +
intercept``:

* the **slope** corrects over- or under-confidence. It is fitted (Platt
  scaling: a logistic regression on ``z``) on predictions the model made for
  leads it had not seen (the newest time fold), and only when they are enough
  (:data:`PLATT_MIN_LEADS`, :data:`PLATT_MIN_CLASS`); otherwise it stays 1;
* the **intercept** then makes the mean predicted probability of the most
  recent closed leads equal their win rate *today* (with few leads, the only
  correction, an intercept shift).

Today's rate is the one at the end of the history: when the rate moves, the
validation leads' average is already behind it. With enough validation leads,
the Platt regression has a time term (:func:`fit_trend`: ``slope * z + b0 +
b1 * t``, ``t`` from 0 at the oldest validation lead to 1 at the newest), and
today's rate is the one it gives the validation leads at ``t = 1``: the trend
the model's own factors do not explain, followed to the end of the history and
no further (bounded by :data:`TREND_LIMIT`). With fewer leads, both fits weigh
each validation lead by its recency (:func:`recency_weights`): the newest
quarter of the validation period weighs as much as the rest.

Both are plain numbers, stored with the model (see :class:`.ScoringModel`).
A slope keeps the order of the leads (it is positive), so ROC AUC is unchanged.
"""

import numpy as np

PLATT_MIN_LEADS = 300  # fewer validation leads than this: the slope stays 1, the intercept alone moves
PLATT_MIN_CLASS = 30  # nor fewer won or fewer lost leads than this
SLOPE_RANGE = (0.25, 4.0)  # a fitted slope outside this range is clipped: a model that flat or steep is no model
INTERCEPT_LIMIT = 20.0  # log-odds; the shift is searched within +- this
TREND_LIMIT = 1.5  # log-odds; the most a time trend may move the rate over the validation period


def _sigmoid(raw):
    return 1.0 / (1.0 + np.exp(-np.clip(raw, -500, 500)))


def recency_weights(order):
    """Weights of the leads closed at ``order`` (n,) halving every quarter of their span, 1 for the newest."""
    order = np.asarray(order, dtype=np.float64)
    span = float(np.ptp(order)) if len(order) else 0.0
    if span <= 0:
        return np.ones(len(order))
    return np.exp2(-(order.max() - order) / (span / 4.0))


def fit_slope(raw, y, weights=None):
    """Platt slope of the log-odds ``raw`` for outcomes ``y`` (1 won, 0 lost), or 1 with too few leads.

    :param raw: (n,) log-odds predicted for leads the model was not trained on
    :param weights: optional (n,) weights of the leads
    """
    raw = np.asarray(raw, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    won = int(y.sum())
    if len(y) < PLATT_MIN_LEADS or min(won, len(y) - won) < PLATT_MIN_CLASS or np.ptp(raw) == 0:
        return 1.0
    from sklearn.linear_model import LogisticRegression

    platt = LogisticRegression(C=1e6, max_iter=1000).fit(raw[:, None], y, sample_weight=weights)
    return float(np.clip(platt.coef_[0][0], *SLOPE_RANGE))


def fit_intercept(raw, rate, slope=1.0, weights=None):
    """The intercept ``b`` for which the mean of ``sigmoid(slope * raw + b)`` is ``rate``.

    The mean grows with ``b``: a bisection finds it to 1e-9 in log-odds. A rate of 0 or 1
    cannot be reached: it is taken as half a lead from it.

    :param raw: (n,) log-odds of the recent closed leads
    :param rate: their observed win rate (weighted as the mean is)
    :param weights: optional (n,) weights of the mean
    """
    raw = slope * np.asarray(raw, dtype=np.float64)
    weights = np.ones(len(raw)) if weights is None else np.asarray(weights, dtype=np.float64)
    if not len(raw):
        return 0.0
    half = 0.5 / len(raw)
    rate = float(np.clip(rate, half, 1.0 - half))
    low, high = -INTERCEPT_LIMIT, INTERCEPT_LIMIT
    for _step in range(80):
        middle = (low + high) / 2
        if np.average(_sigmoid(raw + middle), weights=weights) < rate:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def fit_trend(raw, y, order):
    """Platt scaling with a time trend, ``P(won) = sigmoid(slope * raw + b0 + b1 * t)``, ``t`` the
    closing time scaled from 0 (the oldest of these leads) to 1 (the newest), fitted on
    predictions for leads the model had not seen; None with too few leads
    (:data:`PLATT_MIN_LEADS`, :data:`PLATT_MIN_CLASS`) or no time span.

    :param raw: (n,) log-odds predicted for leads the model was not trained on
    :param y: (n,) their outcomes, 1 won, 0 lost
    :param order: (n,) when they closed
    :return: (slope, rate): the clipped slope, and the mean win probability of these leads at
        the end of the history (``t = 1``, the move ``b1`` bounded by :data:`TREND_LIMIT`)
    """
    raw = np.asarray(raw, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    order = np.asarray(order, dtype=np.float64)
    won = int(y.sum())
    span = float(np.ptp(order)) if len(order) else 0.0
    if len(y) < PLATT_MIN_LEADS or min(won, len(y) - won) < PLATT_MIN_CLASS or np.ptp(raw) == 0 or span <= 0:
        return None
    from sklearn.linear_model import LogisticRegression

    t = (order - order.min()) / span
    platt = LogisticRegression(C=1e6, max_iter=1000).fit(np.column_stack([raw, t]), y)
    slope = float(np.clip(platt.coef_[0][0], *SLOPE_RANGE))
    # the trend's move over the validation period, bounded: a conversion rate that moved more than
    # this in a few months is a trend too unsure to follow to its end
    trend = float(np.clip(platt.coef_[0][1], -TREND_LIMIT, TREND_LIMIT))
    today = slope * raw + platt.intercept_[0] + trend
    return slope, float(_sigmoid(today).mean())


def calibrate(out_of_sample_raw, y, recent_raw, order=None):
    """The (slope, intercept) of a model's calibration, see the module's description.

    :param out_of_sample_raw: (n,) log-odds of the newest validation leads, by a model not trained on them
    :param y: (n,) their outcomes, 1 won, 0 lost
    :param recent_raw: (n,) log-odds of the same leads by the model being calibrated (it may be the
        same model, or one refitted on every lead)
    :param order: optional (n,) when the leads closed: today's rate follows their trend (:func:`fit_trend`),
        or with few leads the newest weigh more (see :func:`recency_weights`)
    :return: {"slope": float, "intercept": float}
    """
    y = np.asarray(y, dtype=np.int64)
    trend = fit_trend(out_of_sample_raw, y, order) if order is not None else None
    if trend is not None:
        slope, rate = trend
        return {"slope": slope, "intercept": fit_intercept(recent_raw, rate, slope)}
    weights = recency_weights(order) if order is not None else np.ones(len(y))
    slope = fit_slope(out_of_sample_raw, y, weights)
    rate = float(np.average(y, weights=weights)) if len(y) else 0.5
    return {"slope": slope, "intercept": fit_intercept(recent_raw, rate, slope, weights)}
