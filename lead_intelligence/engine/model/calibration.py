"""Calibration to today: the model's log-odds mapped so that its probabilities match recent outcomes.

A model learns from leads closed over months or years; when the conversion
rate moves (a new market, a new offer, a season), its probabilities are those
of the past, and they may be over- or under-confident, or wrong in their very
shape. Calibration maps the model's log-odds ``z`` to calibrated log-odds by one
of two shapes, then shifts them by an intercept:

* **Platt**, ``slope * z + intercept``: the slope corrects over- or
  under-confidence. It is fitted (Platt scaling: a logistic regression on
  ``z``) on predictions the model made for leads it had not seen (the newest
  time fold), and only when they are enough (:data:`PLATT_MIN_LEADS`,
  :data:`PLATT_MIN_CLASS`); otherwise it stays 1;
* **isotonic**, ``np.interp(z, x, y) + intercept``: a non-decreasing map,
  linear between its knots ``(x, y)`` and flat beyond the end ones
  (:func:`fit_isotonic`), for probabilities wrong in shape, not only in scale
  (a plateau, a step, which no slope straightens). It is fitted on the same
  leads, and tried only when they are many (:data:`ISOTONIC_MIN_LEADS`,
  :data:`ISOTONIC_MIN_CLASS`): on fewer, it learns their noise.

**The choice** between them is made on the validation leads, by cross-fitting
(:func:`prefers_isotonic`): in :data:`ISOTONIC_FOLDS` interleaved folds of the
closing order, each fold is predicted by both shapes fitted on the other folds.
The isotonic map is kept only when its log-loss is lower than Platt's by
:data:`ISOTONIC_MARGIN` of it: of two shapes as good, Platt, the simpler, is kept.

The **intercept** then makes the mean predicted probability of the most recent
closed leads equal their win rate *today* (with few leads, the only correction,
an intercept shift). The shape is learnt on one model's out-of-sample log-odds
and may be applied to another's (a model refitted on every lead): the slope or
the map is reused as learnt, the intercept is fitted on the log-odds of the
model being calibrated.

Today's rate is the one at the end of the history: when the rate moves, the
validation leads' average is already behind it. With enough validation leads,
the Platt regression has a time term (:func:`fit_trend`: ``slope * z + b0 +
b1 * t``, ``t`` from 0 at the oldest validation lead to 1 at the newest), and
today's rate is the one it gives the validation leads at ``t = 1``: the trend
the model's own factors do not explain, followed to the end of the history and
no further (bounded by :data:`TREND_LIMIT`). With fewer leads, the fits weigh
each validation lead by its recency (:func:`recency_weights`): the newest
quarter of the validation period weighs as much as the rest. Either way, the
isotonic map aims at the same rate as Platt.

All are plain numbers, stored with the model (see :class:`.ScoringModel`): a
slope, or at most :data:`ISOTONIC_MAX_KNOTS` knots, and an intercept. A slope
keeps the order of the leads (it is positive), so ROC AUC is unchanged; the
isotonic map keeps it too, but for the leads beyond its end knots, which tie.
"""

import numpy as np

PLATT_MIN_LEADS = 300  # fewer validation leads than this: the slope stays 1, the intercept alone moves
PLATT_MIN_CLASS = 30  # nor fewer won or fewer lost leads than this
SLOPE_RANGE = (0.25, 4.0)  # a fitted slope outside this range is clipped: a model that flat or steep is no model
INTERCEPT_LIMIT = 20.0  # log-odds; the shift is searched within +- this
TREND_LIMIT = 1.5  # log-odds; the most a time trend may move the rate over the validation period
ISOTONIC_MIN_LEADS = 1000  # fewer validation leads than this: no isotonic map, it would follow their noise
ISOTONIC_MIN_CLASS = 100  # nor fewer won or fewer lost leads than this
ISOTONIC_MAX_KNOTS = 200  # knots of a stored map: more blocks are pooled with their neighbours
ISOTONIC_FOLDS = 5  # cross-fitting folds of the choice between Platt and isotonic
ISOTONIC_MARGIN = 0.005  # isotonic is kept when its cross-fitted log-loss is below Platt's by this share of it
DERIVATIVE_STEP = 1e-6  # log-odds; the step of the isotonic map's local derivative (see calibration_secant)


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


def isotonic_map(raw, knot_x, knot_y):
    """The isotonic map of the log-odds ``raw``: linear between the knots, flat beyond the end ones."""
    return np.interp(np.asarray(raw, dtype=np.float64), knot_x, knot_y)


def fit_isotonic(raw, y, weights=None):
    """Knots (x, y) of the isotonic map of the log-odds ``raw`` (n,) for outcomes ``y``, both in log-odds.

    Scikit-learn's ``IsotonicRegression`` (pool adjacent violators) groups the leads, in the order of
    ``raw``, into blocks of rising win rates. Each block is a knot, at the (weighted) mean of its log-odds
    and at its win rate: the map is linear from one block's centre to the next, so that leads of one
    block keep their order (a step function would tie them), and flat beyond the end knots. A win rate
    is turned into log-odds half a lead (``0.5 / n``) from 0 and 1, knots equal once so turned are
    pooled, and more than :data:`ISOTONIC_MAX_KNOTS` blocks are pooled with their neighbours into that
    many groups of about equal weight. Log-odds beyond +-:data:`INTERCEPT_LIMIT` (a probability of 2e-9)
    are taken at that bound: the knots stay within it.

    :param raw: (n,) log-odds predicted for leads the model was not trained on
    :param y: (n,) their outcomes, 1 won, 0 lost
    :param weights: optional (n,) positive weights of the leads
    :return: (x, y) arrays of equal length, both strictly increasing; of length 1 when the leads
        make a single block (no order in them)
    """
    from sklearn.isotonic import IsotonicRegression

    raw = np.clip(np.asarray(raw, dtype=np.float64), -INTERCEPT_LIMIT, INTERCEPT_LIMIT)
    y = np.asarray(y, dtype=np.float64)
    weights = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
    fitted = IsotonicRegression(out_of_bounds="clip").fit(raw, y, sample_weight=weights)
    ranked = np.argsort(raw, kind="stable")
    raw, weights = raw[ranked], weights[ranked]
    # the fitted rate of every lead: equal within a block, rising from one block to the next
    rate = fitted.predict(raw)
    starts = np.flatnonzero(np.r_[True, rate[1:] != rate[:-1]])
    knot_x, knot_rate, knot_weight = _pooled(raw, rate, weights, starts)
    if len(knot_x) > ISOTONIC_MAX_KNOTS:
        # groups of about equal weight, by the middle of each block: consecutive, at most the maximum
        middle = np.cumsum(knot_weight) - knot_weight / 2
        group = np.minimum((middle / knot_weight.sum() * ISOTONIC_MAX_KNOTS).astype(np.int64), ISOTONIC_MAX_KNOTS - 1)
        knot_x, knot_rate, knot_weight = _pooled(knot_x, knot_rate, knot_weight,
                                                 np.flatnonzero(np.r_[True, group[1:] != group[:-1]]))
        knot_rate = np.maximum.accumulate(knot_rate)  # means of rising blocks rise, but for a rounding
    half = 0.5 / max(len(y), 1)
    knot_rate = np.clip(knot_rate, half, 1.0 - half)
    knot_y = np.log(knot_rate) - np.log1p(-knot_rate)
    # the blocks at a bound are one knot: the map is flat there
    starts = np.flatnonzero(np.r_[True, knot_y[1:] != knot_y[:-1]])
    knot_x, knot_y = _pooled(knot_x, knot_x, knot_weight, starts)[0], knot_y[starts]
    # a mean of a block may round onto its neighbour's: the knots must strictly increase
    knot_x = np.maximum.accumulate(knot_x)
    keep = np.r_[True, np.diff(knot_x) > 0]
    return knot_x[keep], knot_y[keep]


def _pooled(x, value, weights, starts):
    """Weighted means of ``x`` and ``value``, and total weights, of the consecutive groups starting at ``starts``."""
    total = np.add.reduceat(weights, starts)
    return (np.add.reduceat(weights * x, starts) / total, np.add.reduceat(weights * value, starts) / total, total)


def _log_loss(y, logodds, weights):
    """Mean (weighted) log-loss of the log-odds ``logodds`` for outcomes ``y``, without overflow."""
    return float(np.average(np.logaddexp(0.0, np.where(y == 1, -logodds, logodds)), weights=weights))


def enough_for_isotonic(y):
    """Whether the outcomes ``y`` are enough to try an isotonic map (:data:`ISOTONIC_MIN_LEADS`,
    :data:`ISOTONIC_MIN_CLASS`)."""
    won = int(np.sum(y))
    return len(y) >= ISOTONIC_MIN_LEADS and min(won, len(y) - won) >= ISOTONIC_MIN_CLASS


def cross_fitted_losses(raw, y, order=None, weights=None):
    """Log-loss of the Platt and of the isotonic shape on the leads, each lead predicted by the shapes
    fitted on other leads.

    The leads are dealt, in their closing order, into :data:`ISOTONIC_FOLDS` folds as cards are (the
    oldest to the first fold, the next to the second...): every fold spans the whole period, and the
    drift of the rate, the same in each, favours neither shape. Each shape is fitted on the other folds, its
    intercept shifted to their win rate (as :func:`calibrate` does), and scored on the fold.

    :param raw: (n,) log-odds predicted for leads the model was not trained on
    :param y: (n,) their outcomes, 1 won, 0 lost
    :param order: optional (n,) when they closed (ties, and no order, by position)
    :param weights: optional (n,) weights of the leads, in the fits and in the scores
    :return: (platt, isotonic), the mean (weighted) log-loss of each
    """
    raw = np.asarray(raw, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    weights = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
    ranked = np.argsort(np.arange(len(y)) if order is None else np.asarray(order, dtype=np.float64), kind="stable")
    fold = np.empty(len(y), dtype=np.int64)
    fold[ranked] = np.arange(len(y)) % ISOTONIC_FOLDS
    platt, isotonic = np.zeros(len(y)), np.zeros(len(y))
    for held_out in range(ISOTONIC_FOLDS):
        test, fit = fold == held_out, fold != held_out
        rate = float(np.average(y[fit], weights=weights[fit]))
        slope = fit_slope(raw[fit], y[fit], weights[fit])
        platt[test] = slope * raw[test] + fit_intercept(raw[fit], rate, slope, weights[fit])
        knot_x, knot_y = fit_isotonic(raw[fit], y[fit], weights[fit])
        shift = fit_intercept(isotonic_map(raw[fit], knot_x, knot_y), rate, 1.0, weights[fit])
        isotonic[test] = isotonic_map(raw[test], knot_x, knot_y) + shift
    return _log_loss(y, platt, weights), _log_loss(y, isotonic, weights)


def prefers_isotonic(raw, y, order=None, weights=None):
    """Whether the isotonic shape calibrates the leads better than Platt's, by :data:`ISOTONIC_MARGIN`
    of Platt's cross-fitted log-loss (:func:`cross_fitted_losses`); never with too few leads
    (:func:`enough_for_isotonic`). Same parameters as :func:`cross_fitted_losses`."""
    if not enough_for_isotonic(np.asarray(y, dtype=np.int64)) or np.ptp(np.asarray(raw, dtype=np.float64)) == 0:
        return False
    platt, isotonic = cross_fitted_losses(raw, y, order, weights)
    return isotonic < (1.0 - ISOTONIC_MARGIN) * platt


def apply_calibration(calibration, raw):
    """The calibrated log-odds of the log-odds ``raw``.

    :param calibration: as :func:`calibrate` returns it; without ``method``, Platt's
        (``{"slope", "intercept"}``, as models stored before the isotonic map are)
    """
    raw = np.asarray(raw, dtype=np.float64)
    if calibration.get("method", "platt") == "isotonic":
        return isotonic_map(raw, calibration["x"], calibration["y"]) + calibration["intercept"]
    return calibration["slope"] * raw + calibration["intercept"]


def calibration_secant(calibration, raw, base):
    """How much the calibrated log-odds move per unit of the log-odds, between ``base`` (a number) and each
    of ``raw`` (n,): ``(calibrated(raw) - calibrated(base)) / (raw - base)``.

    Platt's slope itself. For the isotonic map, where ``raw`` is within 1e-9 of ``base``, the local
    derivative instead, as the secant over :data:`DERIVATIVE_STEP` either side of their middle: bounded
    even between knots very close together.
    """
    raw = np.asarray(raw, dtype=np.float64)
    if calibration.get("method", "platt") != "isotonic":
        return np.full(len(raw), float(calibration["slope"]))
    knot_x, knot_y = calibration["x"], calibration["y"]
    move = raw - base
    tiny = np.abs(move) < 1e-9
    secant = (isotonic_map(raw, knot_x, knot_y) - isotonic_map(base, knot_x, knot_y)) / np.where(tiny, 1.0, move)
    middle = (raw + base) / 2
    local = (isotonic_map(middle + DERIVATIVE_STEP, knot_x, knot_y)
             - isotonic_map(middle - DERIVATIVE_STEP, knot_x, knot_y)) / (2 * DERIVATIVE_STEP)
    return np.where(tiny, local, secant)


def calibrate(out_of_sample_raw, y, recent_raw, order=None):
    """A model's calibration, Platt or isotonic, see the module's description.

    :param out_of_sample_raw: (n,) log-odds of the newest validation leads, by a model not trained on them
    :param y: (n,) their outcomes, 1 won, 0 lost
    :param recent_raw: (n,) log-odds of the same leads by the model being calibrated (it may be the
        same model, or one refitted on every lead): the shape learnt on ``out_of_sample_raw`` is
        applied to them, and the intercept fitted on them
    :param order: optional (n,) when the leads closed: today's rate follows their trend (:func:`fit_trend`),
        or with few leads the newest weigh more (see :func:`recency_weights`)
    :return: ``{"method": "platt", "slope": float, "intercept": float}`` or ``{"method": "isotonic",
        "x": [float], "y": [float], "slope": 1.0, "intercept": float}`` (see :func:`apply_calibration`)
    """
    raw = np.asarray(out_of_sample_raw, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    trend = fit_trend(raw, y, order) if order is not None else None
    if trend is not None:
        slope, rate = trend
        # the time term carries the drift: the leads weigh alike
        weights, recent_weights = np.ones(len(y)), None
    else:
        weights = recency_weights(order) if order is not None else np.ones(len(y))
        slope = fit_slope(raw, y, weights)
        rate = float(np.average(y, weights=weights)) if len(y) else 0.5
        recent_weights = weights
    if prefers_isotonic(raw, y, order, weights):
        knot_x, knot_y = fit_isotonic(raw, y, weights)
        if len(knot_x) >= 2:
            mapped = isotonic_map(recent_raw, knot_x, knot_y)
            return {"method": "isotonic", "x": knot_x.tolist(), "y": knot_y.tolist(), "slope": 1.0,
                    "intercept": fit_intercept(mapped, rate, 1.0, recent_weights)}
    return {"method": "platt", "slope": slope, "intercept": fit_intercept(recent_raw, rate, slope, recent_weights)}
