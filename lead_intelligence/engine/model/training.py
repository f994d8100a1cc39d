"""Training: fit on the older closed leads, validate on the newest, keep the best candidate.

:func:`train` sorts the closed leads by their closing order, keeps the newest
``valid_fraction`` for validation and trains on the older ones only: the
figures say how the model does on leads that came after the ones it learnt
from, as it will in use. Logistic regression and histogram gradient boosting
are both fitted (seeded, deterministic), gradient boosting with each of its
:data:`CANDIDATE_SETTINGS` (a flexible and a more regularised one: how complex
a model the history supports is for the validation to say); the candidate
with the higher validation ROC AUC is kept. The kept model is the one fitted
on the training part, so that its stored metrics are exactly its own.
"""

from dataclasses import dataclass, field

import numpy as np

from ..arrays import Columns
from .encoding import Encoder, check_features, row_count, subset
from .metrics import evaluate
from .predictor import ALGORITHMS, ScoringModel

# the settings each algorithm is fitted with on the training rows; the validation rows pick one
CANDIDATE_SETTINGS = {
    "logreg": ({"C": 1.0},),
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

    model: ScoringModel
    metrics: dict
    scores: dict  # validation ROC AUC of every algorithm tried (with its best settings)
    train_index: np.ndarray  # rows trained on (the older ones, sampled if capped)
    valid_index: np.ndarray  # rows validated on (the newest)
    validation_cutoff: float  # order value of the oldest validation row
    n_won: int
    n_lost: int
    models: dict = field(default_factory=dict)  # every algorithm's model (with its best settings)
    settings: dict = field(default_factory=dict)  # the kept model's settings
    candidates: list = field(default_factory=list)  # (algorithm, settings, validation ROC AUC) of every fit


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


def candidates(algorithms=ALGORITHMS):
    """The (algorithm, settings) pairs :func:`train` fits for ``algorithms``, in order."""
    return [(algorithm, settings) for algorithm in algorithms for settings in CANDIDATE_SETTINGS[algorithm]]


def _fit(algorithm, settings, X, y, random_state):
    if algorithm == "logreg":
        from sklearn.linear_model import LogisticRegression

        clf = LogisticRegression(max_iter=2000, random_state=random_state, **settings).fit(X, y)
        return {"coef": clf.coef_[0].astype(np.float64), "intercept": float(clf.intercept_[0])}
    from sklearn.ensemble import HistGradientBoostingClassifier

    clf = HistGradientBoostingClassifier(
        early_stopping=False, categorical_features=None, random_state=random_state, **settings).fit(X, y)
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
    :param tier_thresholds: the tiers' minimum scores, for conversion and lift per tier
    :param min_count: a category seen fewer times in the training rows is "other" (see :class:`.Encoder`)
    """

    features: tuple
    valid_fraction: float = 0.2
    algorithms: tuple = ALGORITHMS
    random_state: int = 0
    max_train_rows: int = 250000
    tier_thresholds: tuple = ()
    min_count: int = 5

    def __post_init__(self):
        for name in ("features", "algorithms", "tier_thresholds"):
            object.__setattr__(self, name, tuple(getattr(self, name)))  # frozen: set once, here


def train(config, columns, y, order, progress=None):
    """Train on the older rows, validate on the newest, keep the algorithm with the best validation ROC AUC.

    :param config: a :class:`TrainingConfig`
    :param columns: dict feature name -> array (n,) (multi: (rows, values) pair)
    :param y: (n,) 1 won, 0 lost
    :param order: (n,) closing order (a timestamp): larger is newer
    :param progress: optional callable ``progress(algorithm, done, total)``, called before each
        candidate (see :func:`candidates`) is fitted with the number fitted so far and their total
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
    train_index, valid_index = time_split(order, config.valid_fraction)
    if len(np.unique(y[train_index])) < 2 or len(np.unique(y[valid_index])) < 2:
        raise ValueError("both the training and the validation leads must hold won and lost leads")
    if config.max_train_rows and len(train_index) > config.max_train_rows:
        rng = np.random.default_rng(config.random_state)
        train_index = np.sort(rng.choice(train_index, config.max_train_rows, replace=False))
    train_columns = subset(columns, features, train_index)
    encoder = Encoder.fit(features, train_columns, min_count=config.min_count)
    X_train = encoder.transform(train_columns)
    del train_columns
    reference = X_train.mean(axis=0)
    X_valid = encoder.transform(subset(columns, features, valid_index))
    y_valid = y[valid_index]
    models, scores, predictions, settings_of, tried = {}, {}, {}, {}, []
    todo = candidates(algorithms)
    for done, (algorithm, settings) in enumerate(todo):
        if progress is not None:
            progress(algorithm, done, len(todo))
        params = _fit(algorithm, settings, X_train, y[train_index], config.random_state)
        model = ScoringModel(algorithm, encoder, reference, **{algorithm: params})
        prediction = model.predict_proba_encoded(X_valid)
        score = evaluate(y_valid, prediction)["roc_auc"]
        tried.append((algorithm, settings, score))
        # of equal scores the first is kept: logistic regression before boosting, the first settings
        if algorithm not in scores or score > scores[algorithm]:
            models[algorithm], scores[algorithm], predictions[algorithm] = model, score, prediction
            settings_of[algorithm] = settings
    best = max(algorithms, key=lambda algorithm: (scores[algorithm], -algorithms.index(algorithm)))
    order = np.asarray(order, dtype=np.float64)
    return TrainingResult(
        model=models[best], metrics=evaluate(y_valid, predictions[best], config.tier_thresholds), scores=scores,
        train_index=train_index, valid_index=valid_index, validation_cutoff=float(order[valid_index].min()),
        settings=dict(settings_of[best]), candidates=tried,
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
