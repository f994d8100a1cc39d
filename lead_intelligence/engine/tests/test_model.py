import copy
import functools
import json

import numpy as np
import pytest
from engine import model
from engine.model import loading, predictor
from sklearn.ensemble import HistGradientBoostingClassifier

FEATURES = [
    model.category("industry", "Industry"),
    model.category("source", "Source"),
    model.ordinal("size", ["small", "medium", "large"], "Company size"),
    model.number("revenue", "Expected revenue", log=True),
    model.number("replies", "Email replies"),
    model.multi("classes", "Classes"),
]


def history(n=2000, seed=7):
    """Closed leads with a real signal: industry 3, large companies, replies and class 5 win more."""
    rng = np.random.default_rng(seed)
    industry = rng.integers(0, 6, n)  # 0: not set
    source = rng.choice(np.array(["web", "fair", "", "partner"], dtype=object), n)
    size = rng.choice(np.array(["small", "medium", "large", None], dtype=object), n)
    revenue = np.where(rng.random(n) < 0.2, np.nan, rng.lognormal(9, 1.5, n))
    replies = rng.poisson(1.0, n).astype(float)
    class_rows = np.flatnonzero(rng.random(n) < 0.4)
    class_values = rng.choice([5, 6, 7], len(class_rows))
    has_class5 = np.zeros(n, dtype=bool)
    has_class5[class_rows[class_values == 5]] = True
    logit = (-1.5 + 1.8 * (industry == 3) + 1.2 * (size == "large") - 0.8 * (size == "small")
             + 0.9 * replies - 0.5 * (source == "") + 1.0 * has_class5)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    columns = {"industry": industry, "source": source, "size": size, "revenue": revenue, "replies": replies,
               "classes": (class_rows, class_values)}
    order = np.arange(n, dtype=float)[::-1].copy()  # newest first in the arrays: the split must sort
    return columns, y, order


def test_encoder_one_hot_ordinal_missing_and_cut_off():
    columns = {"c": np.array([1, 1, 1, 2, 0, 3, 3, 3]), "o": np.array(["low", "high", None, "low", "mid", "x", "low",
                                                                       "high"], dtype=object),
               "v": np.array([1.0, np.nan, 3.0, 3.0, 3.0, 1.0, 1.0, 1.0])}
    features = [model.category("c"), model.ordinal("o", ["low", "mid", "high"]), model.number("v")]
    encoder = model.Encoder.fit(features, columns, min_count=3)
    assert encoder.columns == ["c=1", "c=3", "c:other", "c:missing", "o", "o:missing", "v", "v:missing"]
    X = encoder.transform(columns)
    assert X[:, :4].tolist()[3:5] == [[0, 0, 1, 0], [0, 0, 0, 1]]  # 2 is rare: other; 0 is missing
    assert X[:, 5].tolist() == [0, 0, 1, 0, 0, 1, 0, 0]  # None and an unknown level are missing
    assert X[1, 7] == 1 and X[1, 6] == pytest.approx((1.0 - encoder.spec[2]["mean"]) / encoder.spec[2]["scale"])
    # a category never seen in training is "other" at prediction time
    unseen = model.Encoder(encoder.spec).transform({"c": np.array([9]), "o": np.array(["mid"], dtype=object),
                                                   "v": np.array([2.0])})
    assert unseen[0, :4].tolist() == [0, 0, 1, 0]


def test_time_split_validates_on_the_newest():
    order = np.array([5, 1, 9, 3, 7, 2, 8, 4, 6, 0], dtype=float)
    train, valid = model.time_split(order, 0.3)
    assert sorted(order[valid].tolist()) == [7, 8, 9]
    assert order[train].max() < order[valid].min()
    assert len(train) + len(valid) == 10


def test_training_finds_the_signal_and_is_deterministic():
    columns, y, order = history()
    result = model.train(model.TrainingConfig(FEATURES, tier_thresholds=[0, 30, 50, 75]), columns, y, order)
    assert result.metrics["roc_auc"] > 0.75
    assert set(result.scores) == {"logreg", "hgb"}
    assert result.model.algorithm == max(result.scores, key=result.scores.get)
    # every candidate was fitted; each algorithm keeps its best settings, the model the best of all
    assert [(algorithm, settings) for algorithm, settings, _auc in result.candidates] == model.candidates()
    for algorithm in model.ALGORITHMS:
        assert result.scores[algorithm] == max(auc for name, _s, auc in result.candidates if name == algorithm)
    best = max(auc for _a, _s, auc in result.candidates)
    assert (result.model.algorithm, result.settings, best) in result.candidates
    # the figures are those of the kept candidate fitted on the older rows, on the newest
    valid_columns = model.subset(columns, FEATURES, result.valid_index)
    assert result.metrics["roc_auc"] == pytest.approx(
        model.evaluate(y[result.valid_index], result.valid_model.predict_proba(valid_columns))["roc_auc"])
    assert result.n_folds == 3 and len(result.train_index) == len(y)  # the kept model is refitted on every row
    assert result.validation_cutoff == order[result.valid_index].min()
    assert len(result.valid_index) == 400 and result.metrics["n"] == 400
    assert sum(count for _d, _p, _o, count in result.metrics["calibration"]) == 400
    assert sum(count for count, _rate, _lift in result.metrics["tiers"]) == 400
    counts = [count for count, _rate, _lift in result.metrics["tiers"]]
    rates = [rate for count, rate, _lift in result.metrics["tiers"] if count >= 20]
    assert rates == sorted(rates), f"conversion must grow with the tier: {rates} ({counts})"
    again = model.train(model.TrainingConfig(FEATURES), columns, y, order)
    assert again.model.to_json() == result.model.to_json()


def test_validation_picks_the_settings(monkeypatch):
    """Of two gradient boosting settings, the one that does better on the newest leads is kept: here a
    one-leaf-deep model that cannot learn anything, against the flexible one."""
    columns, y, order = history()
    useless = {"learning_rate": 0.01, "max_iter": 1, "max_leaf_nodes": 2, "min_samples_leaf": 1000,
               "l2_regularization": 0.0}
    flexible = model.CANDIDATE_SETTINGS["hgb"][0]
    calls = []
    for first, second in ((useless, flexible), (flexible, useless)):
        monkeypatch.setitem(model.CANDIDATE_SETTINGS, "hgb", (first, second))
        result = model.train(model.TrainingConfig(FEATURES, algorithms=("hgb",)), columns, y, order,
                             progress=lambda *args: calls.append(args))
        assert result.settings == flexible
        assert len(result.candidates) == 2 and result.candidates[0][2] != result.candidates[1][2]
    # two candidates on three folds, then the refit
    assert calls[:7] == [("hgb", done, 7) for done in range(7)]


def test_logreg_coefficient_signs():
    columns, y, order = history()
    result = model.train(model.TrainingConfig(FEATURES, algorithms=("logreg",)), columns, y, order)
    coef = dict(zip(result.model.column_names, result.model.logreg["coef"], strict=True))
    assert coef["industry=3"] > 0.8 and coef["replies"] > 0.5 and coef["classes=5"] > 0.3


def test_hgb_json_prediction_equals_sklearn():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(3000, 6))
    X[rng.random(X.shape) < 0.05] = np.nan  # missing values follow missing_go_to_left
    y = (X[:, 0] + np.nan_to_num(X[:, 1]) * X[:, 2] + rng.normal(size=3000) > 0).astype(int)
    clf = HistGradientBoostingClassifier(max_iter=40, categorical_features=None, random_state=0).fit(X, y)
    encoder = model.Encoder([{"name": f"x{i}", "kind": "number", "label": f"x{i}", "median": 0.0, "mean": 0.0,
                              "scale": 1.0, "missing": False} for i in range(6)])
    ours = model.ScoringModel("hgb", encoder, np.zeros(6), hgb=model.export_hgb(clf))
    loaded = model.load_model(ours.to_json())
    X_new = rng.normal(size=(5000, 6)) * 2
    X_new[rng.random(X_new.shape) < 0.05] = np.nan
    expected = clf.predict_proba(X_new)[:, 1]
    np.testing.assert_allclose(loaded.predict_proba_encoded(X_new), expected, rtol=0, atol=1e-9)


def test_saved_model_predicts_the_same():
    columns, y, order = history()
    for algorithm in model.ALGORITHMS:
        trained = model.train(model.TrainingConfig(FEATURES, algorithms=(algorithm,)), columns, y, order).model
        loaded = model.load_model(trained.to_json())
        np.testing.assert_allclose(loaded.predict_proba(columns), trained.predict_proba(columns), atol=1e-12)
        assert loaded.feature_names == [feature["name"] for feature in FEATURES]


@pytest.mark.parametrize("algorithm", model.ALGORITHMS)
def test_prediction_by_blocks_is_the_same(algorithm, monkeypatch):
    columns, y, order = history(900)
    trained = model.train(model.TrainingConfig(FEATURES, algorithms=(algorithm,)), columns, y, order).model
    whole = trained.predict_proba_encoded(trained.encoder.transform(columns))
    monkeypatch.setattr(predictor, "PREDICT_BLOCK", 128)
    np.testing.assert_allclose(trained.predict_proba(columns), whole, rtol=0, atol=1e-12)


@pytest.mark.parametrize("algorithm", model.ALGORITHMS)
def test_explanations_sum_to_the_score(algorithm):
    columns, y, order = history(800)
    trained = model.train(model.TrainingConfig(FEATURES, algorithms=(algorithm,)), columns, y, order).model
    X = trained.encoder.transform(columns)
    base, points, score = trained.explain_encoded(X)
    np.testing.assert_allclose(base + points.sum(axis=1), score, atol=1e-9)
    np.testing.assert_allclose(score, 100 * trained.predict_proba(columns), atol=1e-9)
    explained = trained.explain(model.subset(columns, FEATURES, [0, 1, 2]), top=2)
    for row, row_score in zip(explained, score[:3], strict=True):
        listed = sum(points for _i, points in row["up"] + row["down"])
        assert row["base"] + listed + row["other"] == pytest.approx(row_score)
        assert all(points > 0 for _i, points in row["up"]) and all(points < 0 for _i, points in row["down"])


def test_explanation_names_the_driving_feature():
    columns, y, order = history()
    trained = model.train(model.TrainingConfig(FEATURES, algorithms=("logreg",)), columns, y, order).model
    rows = np.flatnonzero((columns["industry"] == 3) & (columns["replies"] == 0))[:1]
    explained = trained.explain(model.subset(columns, FEATURES, rows))[0]
    assert explained["up"][0][0] == 0  # industry
    assert 4 in [index for index, _points in explained["down"]]  # no reply pushes down
    lead = model.subset(columns, FEATURES, rows)
    labels = trained.encoder.value_labels(lead, 0)
    assert labels[0] == 3 and labels[4] == 0.0 and labels[1] == columns["source"][rows[0]]
    assert labels[5] == [int(value) for row, value in zip(*columns["classes"], strict=True) if row == rows[0]]


def test_training_needs_both_outcomes_in_both_periods():
    columns, _y, order = history(200)
    with pytest.raises(ValueError, match="won and lost"):
        model.train(model.TrainingConfig(FEATURES), columns, np.zeros(200, dtype=int), order)


@functools.cache
def _trained_document():
    columns, y, order = history(600)
    return model.train(model.TrainingConfig(FEATURES, algorithms=("hgb",)), columns, y, order).model.to_dict()


def _document():
    return copy.deepcopy(_trained_document())


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.update(schema="sklearn.pickle"), "schema"),
    (lambda d: d.update(version=2), "version"),
    (lambda d: d.update(algorithm="mlp"), "unknown algorithm"),
    (lambda d: d.update(extra="__import__('os')"), "unknown keys"),
    (lambda d: d["hgb"]["trees"][0].update(left=[0] * len(d["hgb"]["trees"][0]["left"])), "later node"),
    (lambda d: d["hgb"]["trees"][0].update(feature_idx=[10 ** 6] * len(d["hgb"]["trees"][0]["left"])), "column"),
    (lambda d: d["hgb"]["trees"][0]["value"].append(1.0), "must hold"),
    (lambda d: d["hgb"]["trees"][0].update(value=["1"] * len(d["hgb"]["trees"][0]["value"])), "finite numbers"),
    (lambda d: d["features"][0].update(kind="pickle"), "kind"),
    (lambda d: d["reference"].pop(), "reference"),
    (lambda d: d["hgb"].pop("baseline"), "missing keys"),
])
def test_loading_refuses_malformed_documents(change, message):
    document = _document()
    model.load_model(json.dumps(document))  # the untouched document loads
    change(document)
    with pytest.raises(model.ModelFormatError, match=message):
        model.load_model(json.dumps(document))


def test_loading_refuses_what_is_not_json():
    for text in ("\x80\x04\x95pickle", "NaN", '{"schema": "lead_intelligence.scoring_model", "version": NaN}', "[]"):
        with pytest.raises(model.ModelFormatError):
            model.load_model(text)


def test_metrics():
    y = np.array([0, 0, 1, 1, 0, 1, 0, 1, 1, 1])
    p = np.array([0.1, 0.2, 0.8, 0.9, 0.3, 0.7, 0.4, 0.6, 0.95, 0.85])
    figures = model.evaluate(y, p, tier_thresholds=[0, 50])
    assert figures["roc_auc"] == 1.0 and figures["pr_auc"] == 1.0
    assert figures["brier"] == pytest.approx(np.mean((p - y) ** 2))
    assert figures["tiers"] == [(4, 0.0, 0.0), (6, 1.0, pytest.approx(1 / 0.6))]
    assert [row[3] for row in figures["calibration"]] == [1] * 10


# Tampered documents: a model document is data anyone with write access to the database may change.
# Whatever is done to it, loading either gives a model that predicts and explains, or refuses it with
# the loader's own error; never another exception, whatever the size, nesting or numbers.

TAMPERED_VALUES = [
    10 ** 20, -10 ** 20, 2 ** 63, 2 ** 64, -(2 ** 63) - 1, 10 ** 400, -1, 0, 1, 3, 0.5, -0.0, 1e308, -1e308, 5e-324,
    "inf", "-inf", "nan", "", "x" * 300, None, True, False, [], {}, [[[]]], [10 ** 20], [None], ["a", 1], {"a": 1},
]


KINDS = {(feature["name"], feature["kind"]) for feature in FEATURES}


def _containers(node):
    """Every dict and list of a parsed document, the document first."""
    yield node
    for child in node.values() if isinstance(node, dict) else node:
        if isinstance(child, dict | list):
            yield from _containers(child)


def _tampered(document, rng):
    """The text of ``document`` with one random change: a value replaced, removed, added or nested deep."""
    document = copy.deepcopy(document)
    containers = list(_containers(document))
    # half the time one of the first: the document, its features, the reference (the trees are most of the rest)
    node = containers[int(rng.integers(len(containers) if rng.random() < 0.5 else min(30, len(containers))))]
    keys = list(node) if isinstance(node, dict) else list(range(len(node)))
    action = rng.choice(["replace", "replace", "replace", "remove", "add", "deep"])
    value = TAMPERED_VALUES[int(rng.integers(len(TAMPERED_VALUES)))]
    if action == "remove" and keys:
        del node[keys[int(rng.integers(len(keys)))]]
    elif action == "add":
        if isinstance(node, dict):
            node[f"extra{int(rng.integers(3))}"] = value
        else:
            node.append(value)
    elif keys:
        key = keys[int(rng.integers(len(keys)))]
        if action == "deep":
            node[key] = "DEEP"
            depth = int(rng.choice([10, 900, 5000]))
            return json.dumps(document).replace('"DEEP"', "[" * depth + "1" + "]" * depth, 1)
        node[key] = value
    return json.dumps(document)


def _check_loads_or_refuses(text, columns):
    try:
        loaded = model.load_model(text)
    except model.ModelFormatError:
        return False
    if any((entry["name"], entry["kind"]) not in KINDS for entry in loaded.encoder.spec):
        return True  # features the caller does not have: it refuses the model (as Odoo does)
    probability = loaded.predict_proba(columns)
    assert np.all((probability >= 0) & (probability <= 1))
    explained = loaded.explain(columns)
    assert all(np.isfinite([row["base"], row["score"], row["other"]]).all() for row in explained)
    return True


@pytest.mark.parametrize("algorithm", ["hgb", "logreg"])
def test_tampered_documents_load_or_are_refused(algorithm, monkeypatch):
    # fewer trees than in use: the same document structure, tampered with faster
    monkeypatch.setitem(model.CANDIDATE_SETTINGS, "hgb", ({"max_iter": 20, "max_leaf_nodes": 15},))
    columns, y, order = history(600)
    document = model.train(model.TrainingConfig(FEATURES, algorithms=(algorithm,)), columns, y, order).model.to_dict()
    rows = model.subset(columns, FEATURES, np.arange(50))
    rng = np.random.default_rng(3)
    outcomes = [_check_loads_or_refuses(_tampered(document, rng), rows) for _index in range(500)]
    assert 0 < sum(outcomes) < len(outcomes)  # some changes are harmless (a threshold), most are refused


@pytest.mark.parametrize("text", [
    "[" * 5000 + "]" * 5000,
    '{"schema": ' + "[" * 900 + "]" * 900 + "}",
    '{"schema": "lead_intelligence.scoring_model", "version": 1e999}',
    '{"schema": "lead_intelligence.scoring_model", "version": ' + "9" * 5000 + "}",
    b"\xff\xfe not utf-8",
    "",
])
def test_loading_refuses_deep_huge_and_broken_text(text):
    with pytest.raises(model.ModelFormatError):
        model.load_model(text)


@pytest.mark.parametrize("change", [
    lambda d: d["hgb"]["trees"][0]["left"].__setitem__(0, 10 ** 20),
    lambda d: d["hgb"]["trees"][0]["feature_idx"].__setitem__(0, 2 ** 63),
    lambda d: d["hgb"]["trees"][0]["feature_idx"].__setitem__(0, -1),
    lambda d: d["hgb"]["trees"][0]["value"].__setitem__(0, 10 ** 400),
    lambda d: d["hgb"].update(baseline=1e300),
    lambda d: d["features"][0]["keys"].append(10 ** 20),
    lambda d: d["features"][3].update(median=10 ** 400),
    lambda d: d["features"][3].update(scale=1e-300),
])
def test_loading_refuses_an_index_or_a_number_out_of_range(change):
    document = _document()
    change(document)
    with pytest.raises(model.ModelFormatError):
        model.load_model(json.dumps(document))


@pytest.mark.parametrize(("bound", "value", "message"), [
    ("MAX_TREE_DEPTH", 1, "deeper than 1 levels"),
    ("MAX_TOTAL_NODES", 100, "more than 100 nodes"),
])
def test_loading_bounds_the_trees(monkeypatch, bound, value, message):
    monkeypatch.setattr(loading, bound, value)
    with pytest.raises(model.ModelFormatError, match=message):
        model.load_model(_document())


def test_category_keys_of_another_type():
    """Integer keys of a text column match nothing (the values are "other"); text keys of an id column
    match the ids written as text; the model predicts either way."""
    columns, _y, _order = history(50)
    document = _document()
    source, industry = document["features"][1], document["features"][0]
    source["keys"] = list(range(1, len(source["keys"]) + 1))
    industry["keys"] = sorted(str(key) for key in industry["keys"])
    loaded = model.load_model(document)
    X = loaded.encoder.transform(columns)
    names = loaded.column_names
    assert X[:, [names.index(f"source={key}") for key in source["keys"]]].sum() == 0
    assert X[:, [names.index(f"industry={key}") for key in industry["keys"]]].sum() == np.isin(
        columns["industry"].astype(str), industry["keys"]).sum() > 0
    assert np.all(np.isfinite(loaded.predict_proba(columns)))


def test_loading_refuses_a_document_too_large(monkeypatch):
    text = json.dumps(_document())
    monkeypatch.setattr(loading, "MAX_DOCUMENT_SIZE", len(text) - 1)
    with pytest.raises(model.ModelFormatError, match="too large"):
        model.load_model(text)


def test_explained_values_are_plain_python():
    """Record ids named by an explanation are Python ints: the ORM cannot use numpy's."""
    columns, _y, _order = history(50)
    loaded = model.load_model(_document())
    labels = loaded.encoder.value_labels(columns, int(columns["classes"][0][0]))
    for value in labels[:2] + labels[-1]:
        assert type(value) in (int, str), value
    assert labels[-1]


def test_outcomes_are_named_columns_joined_in_order():
    parts = [model.Outcomes(won=[1, 0], closed_at=[5.0, 2.0]), model.Outcomes(won=[0], closed_at=[7])]
    joined = model.Outcomes.concatenate(parts)
    assert joined.won.tolist() == [1, 0, 0] and joined.won.dtype == np.int64
    assert joined.closed_at.tolist() == [5.0, 2.0, 7.0] and joined.closed_at.dtype == np.float64
    empty = model.Outcomes.concatenate([])
    assert len(empty) == 0 and empty.won.dtype == np.int64 and empty.closed_at.dtype == np.float64
    with pytest.raises(ValueError, match="rows"):
        model.Outcomes(won=[1, 0], closed_at=[1.0])


def test_rolling_folds_move_forward_in_time():
    order = np.arange(100, dtype=float)[::-1].copy()
    folds = model.rolling_folds(order, 0.2, 3)
    assert len(folds) == 3
    assert [sorted(order[valid].tolist()) for _train, valid in folds] == [
        list(range(40, 60)), list(range(60, 80)), list(range(80, 100))]
    for train, valid in folds:
        assert sorted(order[train].tolist()) == list(range(int(order[valid].min())))
    newest_train, newest_valid = model.time_split(order, 0.2)
    assert np.array_equal(folds[-1][0], newest_train) and np.array_equal(folds[-1][1], newest_valid)
    # a short history keeps the folds that train on at least as many rows as they validate
    assert len(model.rolling_folds(np.arange(10.0), 0.3, 3)) == 2
    assert len(model.rolling_folds(np.arange(10.0), 0.5, 3)) == 1


def test_recency_weights_halve_with_the_half_life():
    day = 86400.0
    order = np.array([0, 10, 20, 30], dtype=float) * day
    np.testing.assert_allclose(model.recency_weights(order, 10), [0.125, 0.25, 0.5, 1.0])
    assert model.recency_weights(order, 0) is None


def drifting_history(n=8000, seed=11, chat=True):
    """Closed leads over 400 days: the first 60 % convert at about 10 %, the rest at about 35 %; a new
    source (with ``chat``) appears in the last 20 % only and wins often; replies help throughout."""
    rng = np.random.default_rng(seed)
    order = np.sort(rng.uniform(0, 400 * 86400.0, n))
    late = np.arange(n) >= 0.6 * n
    newest = np.arange(n) >= 0.8 * n
    replies = rng.poisson(1.0, n).astype(float)
    source = np.where(chat & newest & (rng.random(n) < 0.3), "chat",
                      rng.choice(np.array(["web", "fair"]), n)).astype(object)
    logit = np.where(late, -1.0, -2.6) + 0.5 * (replies - 1) + 1.5 * (source == "chat")
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return {"source": source, "replies": replies}, y, order


DRIFT_FEATURES = [model.category("source", "Source"), model.number("replies", "Email replies")]


def test_calibrated_to_the_recent_rate_on_leads_after_training():
    """Trained on the first 6,500 leads, the model's mean probability on the 1,500 that follow (closed
    later, in the new regime) matches their win rate; the same model uncalibrated does not."""
    columns, y, order = drifting_history(chat=False)
    cut = 6500
    train_columns, test_columns = ({name: values[index] for name, values in columns.items()}
                                   for index in (np.arange(cut), np.arange(cut, len(y))))
    for algorithm in model.ALGORITHMS:
        result = model.train(model.TrainingConfig(DRIFT_FEATURES, algorithms=(algorithm,)),
                             train_columns, y[:cut], order[:cut])
        rate = y[cut:].mean()
        assert result.model.predict_proba(test_columns).mean() == pytest.approx(rate, abs=0.03)
        assert abs(result.model.calibrated(None).predict_proba(test_columns).mean() - rate) > 0.04
        # the order of the leads is kept: calibration does not change the ranking
        assert result.model.calibration["slope"] > 0


def test_refit_learns_the_newest_period():
    """A source seen only in the newest leads: the model fitted on the older ones cannot know it, the
    refitted model gives it its high win rate."""
    columns, y, order = drifting_history()
    result = model.train(model.TrainingConfig(DRIFT_FEATURES, algorithms=("logreg",)), columns, y, order)
    chat = {"source": np.array(["chat", "web", "never seen"], dtype=object), "replies": np.array([1.0, 1.0, 1.0])}
    refitted, older = result.model.predict_proba(chat), result.valid_model.predict_proba(chat)
    assert refitted[0] - refitted[1] > 0.15
    assert older[0] == pytest.approx(older[2], abs=1e-12)  # "chat" is unknown to it, as any new source


def test_recent_leads_weigh_more_with_a_half_life():
    """Replies win in the old leads and lose in the recent ones: weighted by recency, the model follows
    the recent leads."""
    rng = np.random.default_rng(5)
    n = 6000
    order = np.sort(rng.uniform(0, 600 * 86400.0, n))
    replies = rng.poisson(1.0, n).astype(float)
    recent = order > 450 * 86400.0
    y = (rng.random(n) < 1 / (1 + np.exp(-np.where(recent, -1.0, 1.0) * (replies - 1)))).astype(int)
    columns = {"replies": replies}
    features = [model.number("replies", "Email replies")]
    flat = model.train(model.TrainingConfig(features, algorithms=("logreg",)), columns, y, order)
    weighted = model.train(model.TrainingConfig(features, algorithms=("logreg",), recency_half_life_days=30),
                           columns, y, order)
    assert flat.model.logreg["coef"][0] > 0 > weighted.model.logreg["coef"][0]


def test_calibration_is_stored_and_checked():
    columns, y, order = drifting_history(3000)
    trained = model.train(model.TrainingConfig(DRIFT_FEATURES, algorithms=("logreg",)), columns, y, order).model
    document = json.loads(trained.to_json())
    assert set(document["calibration"]) == {"slope", "intercept"}
    loaded = model.load_model(document)
    np.testing.assert_allclose(loaded.predict_proba(columns), trained.predict_proba(columns), atol=1e-12)
    for bad in ({"slope": 0.0, "intercept": 0.0}, {"slope": 1.0}, {"slope": 1.0, "intercept": 1e3}):
        with pytest.raises(model.ModelFormatError):
            model.load_model({**document, "calibration": bad})


def test_numbers_in_bins_let_logistic_regression_follow_a_band():
    """Leads convert when a number is inside a band (30 to 60), not beyond: a straight line in log-odds
    cannot say so, the quintile steps can."""
    rng = np.random.default_rng(9)
    n = 5000
    minutes = rng.uniform(0, 100, n)
    y = (rng.random(n) < np.where((minutes >= 30) & (minutes <= 60), 0.6, 0.15)).astype(int)
    features = [model.number("minutes", "Call minutes")]
    result = model.train(model.TrainingConfig(features, algorithms=("logreg",)), {"minutes": minutes}, y,
                         np.arange(n, dtype=float))
    assert len(result.model.encoder.spec[0]["bins"]) == 4
    assert [name for name in result.model.column_names if name.startswith("minutes>=")] == [
        f"minutes>={cut}" for cut in result.model.encoder.spec[0]["bins"]]
    fresh = rng.uniform(0, 100, 4000)
    truth = ((fresh >= 30) & (fresh <= 60)).astype(int)
    assert model.evaluate(truth, result.model.predict_proba({"minutes": fresh}))["roc_auc"] > 0.8
    document = json.loads(result.model.to_json())
    for bad in ([3.0, 2.0], [1.0] * 2, list(range(40))):
        broken = copy.deepcopy(document)
        broken["features"][0]["bins"] = bad
        with pytest.raises(model.ModelFormatError):
            model.load_model(broken)


@pytest.mark.parametrize("algorithm", model.ALGORITHMS)
def test_increasing_counters_never_lower_the_probability(algorithm):
    """In this history more replies go with fewer wins; marked increasing, replies cannot lower a
    lead's probability, and the rest of the model still learns (the source)."""
    rng = np.random.default_rng(13)
    n = 6000
    replies = rng.poisson(2.0, n).astype(float)
    source = rng.choice(np.array(["web", "fair"], dtype=object), n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.8 * (source == "fair") - 0.4 * (replies - 2))))).astype(int)
    columns = {"replies": replies, "source": source}
    features = [model.number("replies", "Email replies"), model.category("source", "Source")]
    order = np.arange(n, dtype=float)
    grid = {"replies": np.arange(0.0, 12.0), "source": np.array(["web"] * 12, dtype=object)}
    free = model.train(model.TrainingConfig(features, algorithms=(algorithm,)), columns, y, order).model
    assert free.predict_proba(grid)[-1] < free.predict_proba(grid)[0]  # the history's own lesson
    bound = model.train(model.TrainingConfig(features, algorithms=(algorithm,), increasing=("replies",)),
                        columns, y, order).model
    probability = bound.predict_proba(grid)
    assert np.all(np.diff(probability) >= -1e-12)
    fair = bound.predict_proba({"replies": np.array([2.0]), "source": np.array(["fair"], dtype=object)})
    assert fair[0] > probability[2]


def test_constrained_logistic_regression_matches_scikit_learn_when_no_bound_bites():
    from engine.model.constraints import fit_logreg_increasing
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(2)
    X = rng.normal(size=(3000, 4))
    y = (rng.random(3000) < 1 / (1 + np.exp(-(X @ np.array([1.0, 0.5, -0.7, 0.0]))))).astype(int)
    reference = LogisticRegression(C=1.0, max_iter=2000).fit(X, y)
    ours = fit_logreg_increasing(X, y, 1.0, np.array([True, True, False, False]))
    np.testing.assert_allclose(ours["coef"], reference.coef_[0], atol=1e-4)
    assert ours["intercept"] == pytest.approx(reference.intercept_[0], abs=1e-4)
