import copy
import json
import math

import numpy as np
import pytest
from engine import model
from engine.model import calibration, loading
from engine.model.calibration import PLATT_MIN_LEADS, TREND_LIMIT, calibrate, fit_trend, recency_weights


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _rising(n, move, seed=7, shape=None):
    """A model's log-odds for ``n`` leads closed over half a year, whose win rate's log-odds rises by
    ``move`` over that time, beyond what the model knows; right in slope, or in truth ``shape(raw)``."""
    rng = np.random.default_rng(seed)
    order = np.sort(rng.uniform(0, 180 * 86400.0, n))
    t = (order - order.min()) / np.ptp(order)
    raw = rng.normal(0.0, 1.0, n)
    logit = raw if shape is None else shape(raw)
    y = (rng.random(n) < _sigmoid(logit - 2.0 + move * t)).astype(np.int64)
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


# The isotonic map, chosen against Platt by cross-fitting on the validation leads.

def STEP(raw):
    """Win log-odds that jump at one point of the model's log-odds and are flat either side: no slope fits."""
    return np.where(raw < 0.3, 0.0, 2.5)


def PLATEAU(raw):
    """An S-curve in log-odds: the win rate levels off both ways, where a slope goes on."""
    return 2.0 * np.tanh(2.0 * raw)


def _decile_error(probability, truth):
    """Mean gap between the predicted and the true probability over the deciles of the predictions."""
    parts = np.array_split(np.argsort(probability, kind="stable"), 10)
    return float(np.mean([abs(probability[part].mean() - truth[part].mean()) for part in parts]))


@pytest.mark.parametrize("shape", [STEP, PLATEAU])
def test_isotonic_is_chosen_for_a_shape_no_slope_fits(shape, monkeypatch):
    raw, y, order = _rising(6000, 0.0, shape=shape)
    isotonic = calibrate(raw, y, raw, order)
    assert isotonic["method"] == "isotonic"
    assert 2 <= len(isotonic["x"]) == len(isotonic["y"]) <= calibration.ISOTONIC_MAX_KNOTS
    assert np.all(np.diff(isotonic["x"]) > 0) and np.all(np.diff(isotonic["y"]) > 0)
    platt_loss, isotonic_loss = calibration.cross_fitted_losses(raw, y, order)
    assert isotonic_loss < (1 - calibration.ISOTONIC_MARGIN) * platt_loss
    monkeypatch.setattr(calibration, "ISOTONIC_MIN_LEADS", 10 ** 9)
    platt = calibrate(raw, y, raw, order)
    assert platt["method"] == "platt"
    # on leads the calibrations never saw, against the true probabilities
    fresh, _y, _order = _rising(20000, 0.0, seed=99, shape=shape)
    truth = _sigmoid(shape(fresh) - 2.0)
    isotonic_error = _decile_error(_sigmoid(calibration.apply_calibration(isotonic, fresh)), truth)
    platt_error = _decile_error(_sigmoid(calibration.apply_calibration(platt, fresh)), truth)
    assert isotonic_error < 0.02 and isotonic_error < platt_error / 3


def test_platt_is_kept_for_logistic_log_odds():
    """Right in shape (here in slope too), the simpler Platt wins: isotonic only follows the noise."""
    for seed in (7, 8, 9):
        raw, y, order = _rising(6000, 0.0, seed=seed)
        calibration_ = calibrate(raw, y, raw, order)
        assert calibration_["method"] == "platt"
        assert set(calibration_) == {"method", "slope", "intercept"}
        assert calibration_["slope"] == pytest.approx(1.0, abs=0.15)
        platt_loss, isotonic_loss = calibration.cross_fitted_losses(raw, y, order)
        assert isotonic_loss > (1 - calibration.ISOTONIC_MARGIN) * platt_loss


def test_no_isotonic_below_the_minimum_leads():
    """Of the same leads, one fewer than ISOTONIC_MIN_LEADS (the oldest left out), or too few won: Platt, as
    it is without the isotonic map."""
    raw, y, order = _rising(calibration.ISOTONIC_MIN_LEADS, 0.0, seed=5, shape=PLATEAU)
    assert calibrate(raw, y, raw, order)["method"] == "isotonic"
    raw, y, order = raw[1:], y[1:], order[1:]
    slope, rate = fit_trend(raw, y, order)
    assert calibrate(raw, y, raw, order) == {"method": "platt", "slope": slope,
                                             "intercept": calibration.fit_intercept(raw, rate, slope)}
    raw, y, order = _rising(6000, 0.0, shape=PLATEAU)
    keep = np.sort(np.r_[np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:calibration.ISOTONIC_MIN_CLASS - 1]])
    assert not calibration.prefers_isotonic(raw[keep], y[keep], order[keep])
    assert calibrate(raw[keep], y[keep], raw[keep], order[keep])["method"] == "platt"
    # without a closing order nor weights, the same
    assert calibrate(raw[keep], y[keep], raw[keep])["method"] == "platt"
    assert calibrate(raw, y, raw)["method"] == "isotonic"


def test_isotonic_calibration_follows_the_trend_to_the_end_of_the_history():
    """The same rate today as Platt's: the mean probability of the recent leads, mapped, is the rate at
    the newest lead; and so for a refitted model's log-odds of them."""
    raw, y, order = _rising(6000, 1.2, shape=PLATEAU)
    calibration_ = calibrate(raw, y, raw, order)
    assert calibration_["method"] == "isotonic"
    _slope, rate = fit_trend(raw, y, order)
    assert _sigmoid(calibration.apply_calibration(calibration_, raw)).mean() == pytest.approx(rate, abs=1e-6)
    today = _sigmoid(PLATEAU(raw) - 2.0 + 1.2).mean()
    assert _sigmoid(calibration.apply_calibration(calibration_, raw)).mean() == pytest.approx(today, abs=0.015)
    assert np.average(y, weights=recency_weights(order)) < today - 0.02
    # another model's log-odds of the same leads: the shape learnt out of sample, the intercept on them
    refitted_raw = 1.3 * raw + 0.4
    refitted = calibrate(raw, y, refitted_raw, order)
    assert (refitted["x"], refitted["y"]) == (calibration_["x"], calibration_["y"])
    assert _sigmoid(calibration.apply_calibration(refitted, refitted_raw)).mean() == pytest.approx(rate, abs=1e-6)


def test_isotonic_knots_are_capped_and_bounded(monkeypatch):
    """More blocks than ISOTONIC_MAX_KNOTS are pooled with their neighbours, the map still rising; extreme
    log-odds are taken at INTERCEPT_LIMIT; rates of 0 and 1 half a lead from them."""
    raw, y, _order = _rising(20000, 0.0, shape=PLATEAU)
    knot_x, knot_y = calibration.fit_isotonic(raw, y)
    assert len(knot_x) > 20
    monkeypatch.setattr(calibration, "ISOTONIC_MAX_KNOTS", 20)
    pooled_x, pooled_y = calibration.fit_isotonic(raw, y)
    assert 10 <= len(pooled_x) <= 20 and np.all(np.diff(pooled_x) > 0) and np.all(np.diff(pooled_y) > 0)
    # weighted means of adjacent blocks: the same map, coarser, and the same rate
    grid = np.linspace(-2, 2, 9)
    assert np.max(np.abs(np.interp(grid, pooled_x, pooled_y) - np.interp(grid, knot_x, knot_y))) < 0.3
    assert _sigmoid(np.interp(raw, pooled_x, pooled_y)).mean() == pytest.approx(y.mean(), abs=0.005)
    separated_x, separated_y = calibration.fit_isotonic(np.r_[-100.0, -90.0, 1.0, 2.0], np.array([0, 0, 1, 1]))
    assert separated_x.tolist() == [-calibration.INTERCEPT_LIMIT, 1.5]
    assert separated_y.tolist() == pytest.approx([np.log(0.125 / 0.875), np.log(0.875 / 0.125)])
    flat_x, _flat_y = calibration.fit_isotonic(np.arange(10.0), np.r_[np.ones(5), np.zeros(5)].astype(np.int64))
    assert len(flat_x) == 1  # no order in these leads: no map


def _logreg_model(n_columns=3):
    """A logistic regression model on ``n_columns`` standard numbers, not calibrated."""
    encoder = model.Encoder([{"name": f"x{i}", "kind": "number", "label": f"x{i}", "median": 0.0, "mean": 0.0,
                              "scale": 1.0, "missing": False} for i in range(n_columns)])
    return model.ScoringModel("logreg", encoder, np.zeros(n_columns),
                              logreg={"coef": np.array([1.2, -0.7, 0.4][:n_columns]), "intercept": -0.5})


def _isotonic_model(algorithm):
    """A model of ``algorithm`` calibrated by an isotonic map fitted on outcomes stepped in its log-odds,
    and encoded rows of it."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(6000, 3))
    if algorithm == "logreg":
        scoring = _logreg_model()
    else:
        from sklearn.ensemble import HistGradientBoostingClassifier

        target = (X[:, 0] - 0.7 * X[:, 1] + X[:, 1] * X[:, 2] + rng.normal(size=len(X)) > 0).astype(int)
        classifier = HistGradientBoostingClassifier(max_iter=20, categorical_features=None, random_state=0)
        scoring = model.ScoringModel("hgb", _logreg_model().encoder, X.mean(axis=0),
                                     hgb=model.export_hgb(classifier.fit(X, target)))
    raw = scoring.raw_decision_function(X)
    y = (rng.random(len(X)) < _sigmoid(STEP(raw) - 1.0)).astype(np.int64)
    calibration_ = calibrate(raw, y, raw, np.arange(len(y), dtype=np.float64))
    assert calibration_["method"] == "isotonic"
    return scoring.calibrated(calibration_), X


def test_isotonic_model_round_trips_and_the_loader_checks_it():
    scoring, X = _isotonic_model("logreg")
    document = json.loads(scoring.to_json())
    assert set(document["calibration"]) == {"method", "x", "y", "intercept"}
    loaded = model.load_model(json.dumps(document))
    assert loaded.calibration["method"] == "isotonic"
    np.testing.assert_allclose(loaded.predict_proba_encoded(X), scoring.predict_proba_encoded(X), rtol=0,
                               atol=1e-12)
    assert loaded.to_json() == scoring.to_json()
    # the map is applied: not the raw log-odds shifted
    assert not np.allclose(scoring.decision_function(X), scoring.raw_decision_function(X)
                           + scoring.calibration["intercept"])
    # a Platt calibration is stored as it always was, without a method
    platt = _logreg_model().calibrated({"method": "platt", "slope": 0.8, "intercept": 0.3})
    assert json.loads(platt.to_json())["calibration"] == {"slope": 0.8, "intercept": 0.3}
    assert "calibration" not in json.loads(_logreg_model().calibrated({"method": "platt", "slope": 1.0,
                                                                       "intercept": 0.0}).to_json())
    knots = document["calibration"]
    for bad, message in (
            ({"x": [knots["x"][1], knots["x"][0], *knots["x"][2:]]}, "x must be strictly increasing"),
            ({"x": [knots["x"][0], *knots["x"]]}, "as many values"),
            ({"y": knots["y"][:-1]}, "as many values"),
            ({"y": knots["y"][::-1]}, "y must be non-decreasing"),
            ({"y": [math.nan, *knots["y"][1:]]}, "finite numbers"),
            ({"x": [*knots["x"][:-1], math.inf]}, "finite numbers"),
            ({"intercept": math.nan}, "finite numbers"),
            ({"x": knots["x"][:1], "y": knots["y"][:1]}, "list of 2 to"),
            ({"x": list(range(loading.MAX_CALIBRATION_KNOTS + 1))}, "list of 2 to"),
            ({"x": "0,1"}, "list of 2 to"),
            ({"x": [-1e3, *knots["x"][1:]]}, "x must be within"),
            ({"y": [*knots["y"][:-1], 1e3]}, "y must be within"),
            ({"x": [True, *knots["x"][1:]]}, "finite numbers"),
            ({"method": "spline"}, "unknown calibration method"),
            ({"slope": 1.0}, "unknown keys"),
    ):
        broken = copy.deepcopy(document)
        broken["calibration"].update(bad)
        with pytest.raises(model.ModelFormatError, match=message):
            model.load_model(broken)
    broken = copy.deepcopy(document)
    broken["calibration"]["y"][0] = math.nan
    with pytest.raises(model.ModelFormatError, match="NaN is not a number"):
        model.load_model(json.dumps(broken))  # in the text, refused by the parser


@pytest.mark.parametrize("algorithm", model.ALGORITHMS)
def test_explanations_sum_to_the_score_with_isotonic_calibration(algorithm):
    scoring, X = _isotonic_model(algorithm)
    reference = scoring.reference
    # the reference row itself, one a hair from it (the local derivative), rows beyond the end knots
    X = np.vstack([X[:500], reference, reference + 1e-12, np.full(3, 40.0), np.full(3, -40.0)])
    base, points, score = scoring.explain_encoded(X)
    np.testing.assert_allclose(base + points.sum(axis=1), score, rtol=0, atol=1e-9)
    np.testing.assert_allclose(score, 100 * scoring.predict_proba_encoded(X), rtol=0, atol=1e-9)
    assert np.all(np.isfinite(points))
    assert np.abs(points[500]).max() == 0 and base == pytest.approx(score[500], abs=1e-12)
    if algorithm == "logreg":
        # a row off the reference in one feature only: every point is that feature's, of the sign of its
        # coefficient's push (the map rises)
        row = np.tile(reference, (2, 1))
        row[:, 1] += [1.5, -1.5]
        _base, single, _score = scoring.explain_encoded(row)
        assert np.abs(single[:, [0, 2]]).max() == 0
        assert single[0, 1] < 0 < single[1, 1]
