"""Training: choose on rolling time folds, refit on every closed lead, calibrate to the newest.

:func:`train` sorts the closed leads by their closing order. Each candidate
(logistic regression with each strength ``C`` of :data:`CANDIDATE_SETTINGS`,
gradient boosting with each of its settings) is fitted on the older leads and
validated on the next ones, in up to ``n_folds`` rolling folds: the newest
``valid_fraction`` validates the last fold, the same share before it the one
before, each fold trained on everything older than its validation leads. The
candidate of the best mean validation ROC AUC is kept: what did well on every
recent period, not on one. It is then refitted on every closed lead, so that
the most recent period is learnt too, optionally weighing recent leads more
(``recency_half_life_days``), and calibrated (:mod:`.calibration`). The
calibration's shape, Platt's slope or an isotonic map (chosen by validation),
is learnt on the newest fold's predictions for leads the model had not seen,
and reused as learnt for the refitted model; its intercept is then fitted on
the refitted model's own log-odds of the newest leads, so that its
probabilities match their win rate today.

The figures kept (:attr:`TrainingResult.metrics`) are those of the newest
fold: the chosen candidate as fitted on the older leads only, on leads it had
not seen, calibrated to them as the refitted model is. Everything is seeded:
one seed, one model.
"""

from dataclasses import dataclass, field

import numpy as np

from ..arrays import Columns
from .calibration import calibrate
from .constraints import fit_logreg_increasing, increasing_columns
from .encoding import Encoder, check_features, row_count, subset
from .metrics import evaluate
from .predictor import ALGORITHMS, ScoringModel

# the settings each algorithm is fitted with on the training rows; the validation rows pick one
CANDIDATE_SETTINGS = {
    # the strength of the penalty: 0.1 for a history too small or noisy for the others
    "logreg": ({"C": 0.1}, {"C": 1.0}, {"C": 10.0}),
    "hgb": (
        {"learning_rate": 0.08, "max_iter": 200, "max_leaf_nodes": 15, "min_samples_leaf": 20,
         "l2_regularization": 1.0},
        # fewer leaves and more leads per leaf: a simpler model, for a history too small or too noisy for the first
        {"learning_rate": 0.05, "max_iter": 200, "max_leaf_nodes": 7, "min_samples_leaf": 40,
         "l2_regularization": 1.0},
    ),
}


@dataclass
class TrainingResult:
    """A trained model and how it did on the validation rows (the newest)."""

    model: ScoringModel  # the kept candidate refitted on every closed lead (sampled if capped), calibrated
    metrics: dict  # of valid_model on the newest validation rows
    scores: dict  # mean validation ROC AUC over the folds of every algorithm tried (with its best settings)
    train_index: np.ndarray  # rows the model is refitted on (every row, sampled if capped)
    valid_index: np.ndarray  # rows of the newest fold's validation
    validation_cutoff: float  # order value of the oldest validation row
    n_won: int
    n_lost: int
    valid_model: ScoringModel = None  # the kept candidate fitted on the rows older than valid_index, calibrated
    models: dict = field(default_factory=dict)  # every algorithm's valid_model (with its best settings)
    settings: dict = field(default_factory=dict)  # the kept model's settings
    candidates: list = field(default_factory=list)  # (algorithm, settings, mean validation ROC AUC) of every one
    n_folds: int = 1  # the time folds validated on


@dataclass(frozen=True, eq=False)
class Outcomes(Columns):
    """How closed leads ended, what :func:`train` learns to predict; each column (n,).

    * ``won``: int64, 1 won, 0 lost;
    * ``closed_at``: float64, when the lead closed (POSIX seconds): the order of :func:`time_split`.
    """

    _DTYPES = {"closed_at": np.float64}

    won: np.ndarray
    closed_at: np.ndarray

    @classmethod
    def concatenate(cls, parts):
        """The rows of the :class:`Outcomes` ``parts``, one part after the other."""
        return cls(**{name: np.concatenate([getattr(part, name) for part in parts] or [np.zeros(0)])
                      for name in cls.column_names()})


def time_split(order, valid_fraction=0.2):
    """Indices (train, valid) of a split in time: the newest ``valid_fraction`` of the rows validate.

    Ties in ``order`` are broken by row position, so the split is deterministic.
    """
    order = np.asarray(order, dtype=np.float64)
    if not 0 < valid_fraction < 1:
        raise ValueError(f"valid_fraction must be between 0 and 1, not {valid_fraction}")
    ranked = np.argsort(order, kind="stable")
    n_valid = max(1, round(len(order) * valid_fraction))
    return np.sort(ranked[:-n_valid]), np.sort(ranked[-n_valid:])


def rolling_folds(order, valid_fraction=0.2, n_folds=3):
    """Rolling time folds (train, valid) of the rows, oldest first, newest last.

    The last fold is :func:`time_split`'s; each fold before validates on the same number of rows just
    before the next fold's, and trains on every row older than them. Folds that would train on fewer
    rows than they validate are left out: the first folds of a short history.
    """
    order = np.asarray(order, dtype=np.float64)
    if n_folds < 1:
        raise ValueError(f"n_folds must be at least 1, not {n_folds}")
    train_index, valid_index = time_split(order, valid_fraction)
    ranked = np.argsort(order, kind="stable")
    n, n_valid = len(order), len(valid_index)
    folds = [(train_index, valid_index)]
    for back in range(1, n_folds):
        end = n - back * n_valid
        if end - n_valid < n_valid:
            break
        folds.insert(0, (np.sort(ranked[:end - n_valid]), np.sort(ranked[end - n_valid:end])))
    return folds


def recency_weights(order, half_life_days):
    """Training weights halving every ``half_life_days`` of age before the newest row; None for no half-life.

    :param order: (n,) closing times (POSIX seconds) of the rows
    """
    if not half_life_days or half_life_days <= 0 or not len(order):
        return None
    order = np.asarray(order, dtype=np.float64)
    return np.exp2(-(order.max() - order) / (half_life_days * 86400.0))


def candidates(algorithms=ALGORITHMS):
    """The (algorithm, settings) pairs :func:`train` fits for ``algorithms``, in order."""
    return [(algorithm, settings) for algorithm in algorithms for settings in CANDIDATE_SETTINGS[algorithm]]


def _fit(algorithm, settings, X, y, random_state, sample_weight=None, increasing=None):
    """Fit ``algorithm`` with ``settings``; the columns ``increasing`` ((p,) bool) never lower the
    probability as they grow (see :mod:`.constraints`)."""
    increasing = np.zeros(X.shape[1], dtype=bool) if increasing is None else np.asarray(increasing, dtype=bool)
    if algorithm == "logreg":
        from sklearn.linear_model import LogisticRegression

        clf = LogisticRegression(max_iter=2000, random_state=random_state, **settings).fit(
            X, y, sample_weight=sample_weight)
        params = {"coef": clf.coef_[0].astype(np.float64), "intercept": float(clf.intercept_[0])}
        if np.any(params["coef"][increasing] < 0):
            params = fit_logreg_increasing(X, y, settings.get("C", 1.0), increasing, sample_weight, start=params)
        return params
    from sklearn.ensemble import HistGradientBoostingClassifier

    constraints = {"monotonic_cst": increasing.astype(np.int64).tolist()} if increasing.any() else {}
    clf = HistGradientBoostingClassifier(
        early_stopping=False, categorical_features=None, random_state=random_state, **settings, **constraints).fit(
        X, y, sample_weight=sample_weight)
    return export_hgb(clf)


@dataclass(frozen=True)
class TrainingConfig:
    """How :func:`train` learns: the features and the settings of the fit and of its validation.

    :param features: feature descriptions (see :func:`.category` and friends)
    :param valid_fraction: the newest share of the rows that validates (see :func:`time_split`)
    :param algorithms: the algorithms fitted (see :func:`candidates`), the first kept of equal scores
    :param random_state: the seed of the fits and of the sampling: one seed, one model
    :param max_train_rows: more training rows than this are sampled (seeded) to
        bound time and memory; the validation rows are never sampled
    :param max_fold_rows: the same for the fits that only choose the candidate (every
        candidate on every time fold): fewer rows, as many candidates
    :param tier_thresholds: the tiers' minimum scores, for conversion and lift per tier
    :param min_count: a category seen fewer times in the training rows is "other" (see :class:`.Encoder`)
    :param n_folds: the rolling time folds the candidates are validated on (see :func:`rolling_folds`)
    :param recency_half_life_days: the age, before the newest closed lead, at which a lead weighs half in
        the fits; 0 weighs every lead alike
    :param increasing: names of the number features that never lower the probability as they grow
        (behaviour counters; see :mod:`.constraints`)
    """

    features: tuple
    valid_fraction: float = 0.2
    algorithms: tuple = ALGORITHMS
    random_state: int = 0
    max_train_rows: int = 250000
    max_fold_rows: int = 100000
    tier_thresholds: tuple = ()
    min_count: int = 5
    n_folds: int = 3
    recency_half_life_days: float = 0.0
    increasing: tuple = ()

    def __post_init__(self):
        for name in ("features", "algorithms", "tier_thresholds", "increasing"):
            object.__setattr__(self, name, tuple(getattr(self, name)))  # frozen: set once, here


def _sample(index, cap, random_state):
    """``index``, or a seeded sample of ``cap`` of its rows (sorted) when it has more."""
    if cap and len(index) > cap:
        return np.sort(np.random.default_rng(random_state).choice(index, cap, replace=False))
    return index


def _encoded(config, columns, train_index, valid_index=None):
    """(encoder, reference, X_train, X_valid) of an encoder fitted on the rows ``train_index``."""
    train_columns = subset(columns, config.features, train_index)
    encoder = Encoder.fit(config.features, train_columns, min_count=config.min_count)
    X_train = encoder.transform(train_columns)
    del train_columns
    X_valid = encoder.transform(subset(columns, config.features, valid_index)) if valid_index is not None else None
    return encoder, X_train.mean(axis=0), X_train, X_valid


def train(config, columns, y, order, progress=None):
    """Choose a candidate on rolling time folds, refit it on every row, calibrate it to the newest rows.

    :param config: a :class:`TrainingConfig`
    :param columns: dict feature name -> array (n,) (multi: (rows, values) pair)
    :param y: (n,) 1 won, 0 lost
    :param order: (n,) closing order (a timestamp): larger is newer
    :param progress: optional callable ``progress(algorithm, done, total)``, called before each fit
        with the number of fits done so far and their total (every candidate on every fold, then the refit)
    :raise ValueError: fewer than two classes in the training or the validation rows
    """
    features, algorithms = config.features, config.algorithms
    check_features(features)
    y = np.asarray(y, dtype=np.int64)
    if len(y) != row_count(columns, features) or len(y) != len(order):
        raise ValueError("y, order and the columns must have the same length")
    unknown = set(algorithms) - set(ALGORITHMS)
    if unknown or not algorithms:
        raise ValueError(f"unknown algorithms {sorted(unknown)}; known: {ALGORITHMS}")
    order = np.asarray(order, dtype=np.float64)
    folds = [(fold_train, fold_valid) for fold_train, fold_valid in rolling_folds(order, config.valid_fraction,
                                                                                   config.n_folds)
             if len(np.unique(y[fold_train])) == 2 and len(np.unique(y[fold_valid])) == 2]
    valid_index = time_split(order, config.valid_fraction)[1]
    if not folds or not np.array_equal(folds[-1][1], valid_index):
        raise ValueError("both the training and the validation leads must hold won and lost leads")
    weights = recency_weights(order, config.recency_half_life_days)
    todo = candidates(algorithms)
    total, done = len(todo) * len(folds) + 1, 0
    fold_scores = np.zeros((len(folds), len(todo)))
    newest = {}  # candidate position -> (model fitted on the newest fold's training rows, its raw validation log-odds)
    for fold, (fold_train, fold_valid) in enumerate(folds):
        fold_train = _sample(fold_train, min(config.max_fold_rows or config.max_train_rows,
                                             config.max_train_rows or config.max_fold_rows), config.random_state)
        encoder, reference, X_train, X_valid = _encoded(config, columns, fold_train, fold_valid)
        fold_weights = weights[fold_train] if weights is not None else None
        increasing = increasing_columns(encoder, config.increasing)
        for position, (algorithm, settings) in enumerate(todo):
            if progress is not None:
                progress(algorithm, done, total)
            done += 1
            params = _fit(algorithm, settings, X_train, y[fold_train], config.random_state, fold_weights, increasing)
            model = ScoringModel(algorithm, encoder, reference, **{algorithm: params})
            raw = model.raw_decision_function(X_valid)
            fold_scores[fold, position] = evaluate(y[fold_valid], 1.0 / (1.0 + np.exp(-raw)))["roc_auc"]
            if fold == len(folds) - 1:
                newest[position] = (model, raw)
        del X_train, X_valid
    mean_scores = fold_scores.mean(axis=0)
    tried = [(algorithm, settings, float(score)) for (algorithm, settings), score in zip(todo, mean_scores,
                                                                                        strict=True)]
    # of equal scores the first is kept: logistic regression before boosting, the first settings
    best_of = {}
    for position, (algorithm, _settings) in enumerate(todo):
        if algorithm not in best_of or mean_scores[position] > mean_scores[best_of[algorithm]]:
            best_of[algorithm] = position
    best = max(algorithms, key=lambda algorithm: (mean_scores[best_of[algorithm]], -algorithms.index(algorithm)))
    y_valid = y[valid_index]
    models = {}
    for algorithm, position in best_of.items():
        model, raw = newest[position]
        models[algorithm] = model.calibrated(calibrate(raw, y_valid, raw, order[valid_index]))
    best_position = best_of[best]
    algorithm, settings = todo[best_position]
    if progress is not None:
        progress(algorithm, done, total)
    refit_index = _sample(np.arange(len(y)), config.max_train_rows, config.random_state)
    encoder, reference, X_all, _none = _encoded(config, columns, refit_index)
    params = _fit(algorithm, settings, X_all, y[refit_index], config.random_state,
                  weights[refit_index] if weights is not None else None, increasing_columns(encoder, config.increasing))
    del X_all
    refitted = ScoringModel(algorithm, encoder, reference, **{algorithm: params})
    recent_raw = refitted.raw_decision_function(encoder.transform(subset(columns, features, valid_index)))
    valid_model = models[best]
    prediction = valid_model.predict_proba_encoded(
        valid_model.encoder.transform(subset(columns, features, valid_index)))
    return TrainingResult(
        model=refitted.calibrated(calibrate(newest[best_position][1], y_valid, recent_raw, order[valid_index])),
        metrics=evaluate(y_valid, prediction, config.tier_thresholds),
        scores={name: float(mean_scores[position]) for name, position in best_of.items()},
        train_index=refit_index, valid_index=valid_index, validation_cutoff=float(order[valid_index].min()),
        settings=dict(settings), candidates=tried, valid_model=valid_model, n_folds=len(folds),
        n_won=int(y.sum()), n_lost=int(len(y) - y.sum()), models=models)


def export_hgb(clf):
    """The fitted trees of a binary ``HistGradientBoostingClassifier`` (numeric features only) as plain data."""
    if getattr(clf, "is_categorical_", None) is not None and np.any(clf.is_categorical_):
        raise ValueError("categorical features are not supported: one-hot them before fitting")
    if len(clf.classes_) != 2:
        raise ValueError("only binary classifiers can be exported")
    trees = []
    for predictors in clf._predictors:
        nodes = predictors[0].nodes
        trees.append({
            "feature_idx": nodes["feature_idx"].astype(np.int64), "num_threshold": nodes["num_threshold"].copy(),
            "missing_go_to_left": nodes["missing_go_to_left"].astype(bool), "left": nodes["left"].astype(np.int64),
            "right": nodes["right"].astype(np.int64), "is_leaf": nodes["is_leaf"].astype(bool),
            "value": nodes["value"].copy(),
        })
    return {"baseline": float(np.ravel(clf._baseline_prediction)[0]), "trees": trees}
