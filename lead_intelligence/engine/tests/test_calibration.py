import numpy as np
import pytest
from engine.model.calibration import PLATT_MIN_LEADS, TREND_LIMIT, calibrate, fit_trend, recency_weights


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _rising(n, move, seed=7):
    """A model's log-odds (right in slope) for ``n`` leads closed over half a year, whose win rate's
    log-odds rises by ``move`` over that time, beyond what the model knows."""
    rng = np.random.default_rng(seed)
    order = np.sort(rng.uniform(0, 180 * 86400.0, n))
    t = (order - order.min()) / np.ptp(order)
    raw = rng.normal(0.0, 1.0, n)
    y = (rng.random(n) < _sigmoid(raw - 2.0 + move * t)).astype(np.int64)
    return raw, y, order


def test_calibration_follows_the_trend_to_the_end_of_the_history():
    """The rate at the newest lead, not the (recency-weighted) average of the period, which lags behind."""
    raw, y, order = _rising(6000, 1.2)
    calibration = calibrate(raw, y, raw, order)
    assert calibration["slope"] == pytest.approx(1.0, abs=0.15)
    today = _sigmoid(raw - 2.0 + 1.2).mean()
    predicted = _sigmoid(calibration["slope"] * raw + calibration["intercept"]).mean()
    assert predicted == pytest.approx(today, abs=0.015)
    assert np.average(y, weights=recency_weights(order)) < today - 0.02


def test_no_trend_without_enough_leads_nor_one_too_steep_to_trust():
    raw, y, order = _rising(PLATT_MIN_LEADS - 1, 1.2)
    assert fit_trend(raw, y, order) is None
    # with too few leads, the recency-weighted rate, as the module says
    calibration = calibrate(raw, y, raw, order)
    weights = recency_weights(order)
    assert calibration["slope"] == 1.0
    assert np.average(_sigmoid(raw + calibration["intercept"]), weights=weights) == pytest.approx(
        np.average(y, weights=weights), abs=1e-6)
    # a rate that jumps by 6 in log-odds over the period is followed by TREND_LIMIT at most
    raw, y, order = _rising(6000, 6.0)
    slope, rate = fit_trend(raw, y, order)
    t = (order - order.min()) / np.ptp(order)
    from sklearn.linear_model import LogisticRegression

    platt = LogisticRegression(C=1e6, max_iter=1000).fit(np.column_stack([raw, t]), y)
    assert platt.coef_[0][1] > TREND_LIMIT
    assert rate == pytest.approx(_sigmoid(slope * raw + platt.intercept_[0] + TREND_LIMIT).mean())
