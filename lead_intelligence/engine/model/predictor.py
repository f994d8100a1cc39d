"""A trained scoring model: prediction, explanation, and the JSON document it is stored as.

The model is the encoder, either logistic regression coefficients or
boosted trees, and its calibration of the log-odds (see :mod:`.calibration`):
Platt's slope and intercept, or an isotonic map (knots, linear between them)
and an intercept. Trees are evaluated by our own vectorised traversal, equal to
scikit-learn's ``predict_proba``. Explanations give each feature's points on
the 0-100 model score, from a base value (the score of the training
average), summing exactly to the lead's score. :mod:`.loading` reads the
document back, strictly.
"""

import json
import math

import numpy as np

from .calibration import apply_calibration, calibration_secant
from .encoding import row_count, subset

SCHEMA = "lead_intelligence.scoring_model"
VERSION = 1
ALGORITHMS = ("logreg", "hgb")
PREDICT_BLOCK = 20000  # rows per block of tree traversal: bounds memory at (block, trees)
IDENTITY = {"slope": 1.0, "intercept": 0.0}
CALIBRATION_METHODS = ("platt", "isotonic")
TREE_KEYS = ("feature_idx", "num_threshold", "missing_go_to_left", "left", "right", "is_leaf", "value")


def _sigmoid(raw):
    return 1.0 / (1.0 + np.exp(-np.clip(raw, -500, 500)))


class ScoringModel:
    """A trained model: the encoder and either logistic regression coefficients or boosted trees."""

    def __init__(self, algorithm, encoder, reference, logreg=None, hgb=None, calibration=None):
        self.algorithm = algorithm
        self.encoder = encoder
        self.reference = np.asarray(reference, dtype=np.float64)  # training mean of each column
        self.logreg = logreg  # {"coef": (p,), "intercept": float}
        self.hgb = hgb  # {"baseline": float, "trees": [...]} with arrays
        # log-odds -> calibrated log-odds (identity: not calibrated), see _calibration
        self.calibration = _calibration(calibration)
        if hgb is not None:
            self._stack_trees()

    @property
    def feature_names(self):
        """Names of the model's input features (before encoding)."""
        return [entry["name"] for entry in self.encoder.spec]

    @property
    def column_names(self):
        return list(self.encoder.columns)

    # prediction ------------------------------------------------

    def _stack_trees(self):
        """All trees' nodes in one set of arrays, so that one traversal step moves every tree.

        A leaf's two children are the leaf itself: a row that reached its leaf
        stays there, and every row takes the same number of steps (the depth of
        the deepest tree) with no test of which rows are done.
        """
        trees = self.hgb["trees"]
        offsets = np.cumsum([0] + [len(tree["value"]) for tree in trees]).astype(np.intp)
        self._roots = offsets[:-1]

        def cat(key, dtype):
            return np.concatenate([np.asarray(tree[key], dtype=dtype) for tree in trees]) if trees \
                else np.zeros(0, dtype=dtype)

        shift = np.repeat(offsets[:-1], np.diff(offsets))
        leaf = cat("is_leaf", bool)
        nodes = np.arange(offsets[-1], dtype=np.intp)
        self._children = np.column_stack([
            np.where(leaf, nodes, cat("left", np.intp) + shift),
            np.where(leaf, nodes, cat("right", np.intp) + shift),
        ]).ravel()
        self._feature = np.where(leaf, 0, cat("feature_idx", np.intp))
        self._threshold = cat("num_threshold", np.float64)
        self._nan_right = ~cat("missing_go_to_left", bool)
        self._value = cat("value", np.float64)
        self._depth = max((tree_depth(tree) for tree in trees), default=0)

    def _raw_hgb(self, X):
        """Sum of the trees' leaf values plus the baseline, as scikit-learn's ``_raw_predict``:
        a row goes left when its value is at most the threshold, a missing value
        where ``missing_go_to_left`` says."""
        raw = np.full(len(X), self.hgb["baseline"], dtype=np.float64)
        if not len(self._roots):
            return raw
        for start in range(0, len(X), PREDICT_BLOCK):
            block = np.ascontiguousarray(X[start:start + PREDICT_BLOCK])
            flat = block.ravel()
            row_start = (np.arange(len(block), dtype=np.intp) * block.shape[1])[:, None]
            node = np.broadcast_to(self._roots, (len(block), len(self._roots))).copy()
            missing = bool(np.isnan(flat).any())
            for _step in range(self._depth):
                value = flat[row_start + self._feature[node]]
                right = value > self._threshold[node]
                if missing:
                    right = np.where(np.isnan(value), self._nan_right[node], right)
                node = self._children[2 * node + right]
            raw[start:start + len(block)] += self._value[node].sum(axis=1)
        return raw

    def raw_decision_function(self, X):
        """Log-odds of winning for the encoded rows ``X`` (n, p), as fitted, before the calibration."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.encoder.columns):
            raise ValueError(f"X has shape {X.shape}, the model takes {len(self.encoder.columns)} columns")
        if self.algorithm == "logreg":
            return X @ self.logreg["coef"] + self.logreg["intercept"]
        return self._raw_hgb(X)

    def decision_function(self, X):
        """Calibrated log-odds of winning for the encoded rows ``X`` (n, p)."""
        return apply_calibration(self.calibration, self.raw_decision_function(X))

    def calibrated(self, calibration):
        """This model with the calibration ``calibration`` in place of its own: Platt's ({"slope",
        "intercept"}, with or without ``"method": "platt"``), an isotonic one ({"method": "isotonic",
        "x", "y", "intercept"}, as :func:`.calibrate` returns them), or None (not calibrated)."""
        return ScoringModel(self.algorithm, self.encoder, self.reference, logreg=self.logreg, hgb=self.hgb,
                            calibration=calibration)

    def predict_proba_encoded(self, X):
        return _sigmoid(self.decision_function(X))

    def predict_proba(self, columns):
        """Probability of winning (n,) of the rows of ``columns`` (dict name -> array).

        Encoded and predicted by blocks of rows: memory stays bounded however many rows.
        """
        n = row_count(columns, self.encoder.spec) or 0
        if n <= PREDICT_BLOCK:
            return self.predict_proba_encoded(self.encoder.transform(columns))
        probability = np.empty(n)
        for start in range(0, n, PREDICT_BLOCK):
            index = np.arange(start, min(start + PREDICT_BLOCK, n))
            probability[index] = self.predict_proba_encoded(
                self.encoder.transform(subset(columns, self.encoder.spec, index)))
        return probability

    # explanation -----------------------------------------------

    def explain_encoded(self, X):
        """Points of each feature on the 0-100 model score.

        :return: (base, points, score): ``base`` the score of the reference row
            (the training average), ``points`` (n, n_features), ``score`` (n,)
            the model score 100 * probability; ``base + points.sum(1) == score``.

        Logistic regression: a feature's log-odds contribution is exact,
        ``coef . (x - reference)`` over its columns, times the calibration's
        secant between the reference and the row (see
        :func:`.calibration_secant`: Platt's slope, or how much the isotonic map
        moves per unit between them), so that they add up to the calibrated
        log-odds' difference. Boosted trees: a
        model-agnostic, vectorised occlusion; a feature's contribution is the
        log-odds of the row minus the log-odds of the row with that feature's
        columns set to the reference, one batch prediction per feature. Their
        sum differs from the row's total (interactions): the difference is
        shared out in proportion to each contribution's size. The log-odds
        contributions are then turned into points with the slope of the
        0-100 curve between the base and the row (the secant of the sigmoid),
        so that they add up exactly to the score.
        """
        X = np.asarray(X, dtype=np.float64)
        n_features = len(self.encoder.spec)
        uncalibrated = self.raw_decision_function(X)
        base_uncalibrated = float(self.raw_decision_function(self.reference[None, :])[0])
        raw = apply_calibration(self.calibration, uncalibrated)
        base_raw = float(apply_calibration(self.calibration, base_uncalibrated))
        secant = calibration_secant(self.calibration, uncalibrated, base_uncalibrated) \
            if self.algorithm == "logreg" else None
        contributions = np.zeros((len(X), n_features))
        for index in range(n_features):
            columns = self.encoder.groups == index
            if not columns.any():
                continue
            if self.algorithm == "logreg":
                coef = self.logreg["coef"][columns]
                contributions[:, index] = secant * ((X[:, columns] - self.reference[columns]) @ coef)
            else:
                occluded = X.copy()
                occluded[:, columns] = self.reference[columns]
                contributions[:, index] = raw - self.decision_function(occluded)
        total = raw - base_raw
        residual = total - contributions.sum(axis=1)
        size = np.abs(contributions)
        size_sum = size.sum(axis=1)
        share = np.where(size_sum[:, None] > 0, size / np.where(size_sum > 0, size_sum, 1.0)[:, None],
                         1.0 / max(n_features, 1))
        contributions += residual[:, None] * share
        base = 100.0 * _sigmoid(base_raw)
        score = 100.0 * _sigmoid(raw)
        tiny = np.abs(total) < 1e-9
        slope_at_base = 100.0 * _sigmoid(base_raw) * (1.0 - _sigmoid(base_raw))
        slope = np.where(tiny, slope_at_base, (score - base) / np.where(tiny, 1.0, total))
        return base, contributions * slope[:, None], score

    def explain(self, columns, top=3):
        """Top features pushing each row up and down, in points on the 0-100 score.

        :return: list (one per row) of dicts: ``base``, ``score``, ``up`` and
            ``down`` lists of (feature index, points), largest first, and
            ``other`` the points of the features not listed.
        """
        base, points, score = self.explain_encoded(self.encoder.transform(columns))
        result = []
        for row_points, row_score in zip(points, score, strict=True):
            order = np.argsort(-row_points, kind="stable")
            up = [(int(i), float(row_points[i])) for i in order[:top] if row_points[i] > 0]
            down = [(int(i), float(row_points[i])) for i in order[::-1][:top] if row_points[i] < 0]
            listed = sum(points for _i, points in up + down)
            result.append({"base": float(base), "score": float(row_score), "up": up, "down": down,
                           "other": float(row_points.sum() - listed)})
        return result

    # persistence -----------------------------------------------

    def to_dict(self):
        document = {
            "schema": SCHEMA, "version": VERSION, "algorithm": self.algorithm,
            "features": self.encoder.spec, "reference": self.reference.tolist(),
        }
        if self.algorithm == "logreg":
            document["logreg"] = {"coef": np.asarray(self.logreg["coef"]).tolist(),
                                  "intercept": float(self.logreg["intercept"])}
        else:
            document["hgb"] = {"baseline": float(self.hgb["baseline"]), "trees": [
                {key: _json_thresholds(tree[key]) if key == "num_threshold" else np.asarray(tree[key]).tolist()
                 for key in TREE_KEYS} for tree in self.hgb["trees"]]}
        calibration = self.calibration
        if calibration["method"] == "isotonic":
            # x and y as lists of floats, the intercept a float: plain JSON numbers
            document["calibration"] = {"method": "isotonic", "x": calibration["x"].tolist(),
                                       "y": calibration["y"].tolist(), "intercept": calibration["intercept"]}
        elif {key: calibration[key] for key in IDENTITY} != IDENTITY:
            # Platt's, as stored before the isotonic map: no method
            document["calibration"] = {key: calibration[key] for key in IDENTITY}
        return document

    def to_json(self):
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)


def _calibration(calibration):
    """``calibration`` as a model keeps it, None for the identity.

    Platt's ``{"method": "platt", "slope", "intercept"}`` (floats), isotonic ``{"method": "isotonic",
    "x", "y" (float arrays), "slope": 1.0, "intercept"}``: a calibration without ``method`` is Platt's.
    """
    calibration = calibration or IDENTITY
    method = calibration.get("method", "platt")
    if method not in CALIBRATION_METHODS:
        raise ValueError(f"unknown calibration method {method!r}, known: {CALIBRATION_METHODS}")
    if method == "isotonic":
        # slope 1: the intercept shifts the mapped log-odds as they are
        return {"method": "isotonic", "x": np.array(calibration["x"], dtype=np.float64),
                "y": np.array(calibration["y"], dtype=np.float64), "slope": 1.0,
                "intercept": float(calibration["intercept"])}
    return {"method": "platt", "slope": float(calibration["slope"]), "intercept": float(calibration["intercept"])}


def _json_thresholds(thresholds):
    """Split thresholds for JSON: an infinite one (the split of missing from present values) as "inf"."""
    return [value if math.isfinite(value) else ("inf" if value > 0 else "-inf")
            for value in np.asarray(thresholds, dtype=np.float64).tolist()]


def tree_depth(tree):
    """Number of levels below the root of ``tree`` (a dict of node arrays, children after their parent)."""
    depth = np.zeros(len(tree["value"]), dtype=np.int64)
    for node in range(len(tree["value"])):
        if not tree["is_leaf"][node]:
            depth[tree["left"][node]] = depth[tree["right"][node]] = depth[node] + 1
    return int(depth.max()) if len(depth) else 0
