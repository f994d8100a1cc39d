"""Predictive lead scoring: encode, train, validate on a time split, explain, store as JSON.

Pure numpy / scikit-learn, no Odoo import.

* **Features** are described by a list of plain dicts (JSON), one per input
  column, with a ``kind``:

  - ``category``: one-hot; values seen fewer than ``min_count`` times in the
    training data share an ``other`` column; a ``missing`` column when the
    training data had missing values. Integer columns (record ids) are missing
    where ``<= 0``; object / string columns where ``None``, ``False`` or ``''``.
  - ``ordinal``: ordered ``levels`` become 0, 1, 2...; a value outside them is
    missing (imputed with the training median, plus a missing indicator).
  - ``number`` / ``log``: a float (NaN is missing); ``log`` takes ``log1p`` of
    the value clipped at 0 (revenues, headcounts, seconds); missing values get
    the training median and an indicator column.
  - ``multi``: a set of values per row (tags), given as a pair ``(rows,
    values)``; one 0/1 column per value seen ``min_count`` times.

  Numeric and ordinal columns are standardised with the training mean and
  standard deviation (logistic regression needs it; trees do not care).

* **Training** (:func:`train`) sorts the closed leads by their closing order,
  keeps the newest ``valid_fraction`` for validation and trains on the older
  ones only: the figures say how the model does on leads that came after the
  ones it learnt from, as it will in use. Logistic regression and histogram
  gradient boosting are both fitted (seeded, deterministic), gradient boosting
  with each of its :data:`CANDIDATE_SETTINGS` (a flexible and a more
  regularised one: how complex a model the history supports is for the
  validation to say); the candidate with the higher validation ROC AUC is
  kept. The kept model is the one fitted on the training part, so that its
  stored metrics are exactly its own.

* **Persistence** is JSON (:meth:`ScoringModel.to_json`, :func:`load_model`):
  the encoder, the coefficients of the logistic regression or every node of the
  boosted trees. Loading checks the document strictly (size, nesting depth,
  schema, version, keys, types, array lengths, the range of every number and
  index, tree structure and depth) and raises :class:`ModelFormatError` for
  anything else, never another exception; nothing is unpickled or evaluated.
  Trees are evaluated by our own vectorised traversal, equal to scikit-learn's
  ``predict_proba``.

* **Explanations** (:meth:`ScoringModel.explain`) give each feature's points on
  the 0-100 model score, from a base value (the score of the training
  average), summing exactly to the lead's score.
"""

import json
import math
from dataclasses import dataclass, field

import numpy as np

SCHEMA = "lead_intelligence.scoring_model"
VERSION = 1
ALGORITHMS = ("logreg", "hgb")
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
FEATURE_KINDS = ("category", "ordinal", "number", "log", "multi")
PREDICT_BLOCK = 20000  # rows per block of tree traversal: bounds memory at (block, trees)
SCALE_FLOOR = 1e-12  # a standard deviation below this is no spread: the column is not scaled
# Bounds of a stored document, far above what training writes: anything beyond is refused unread.
MAX_DOCUMENT_SIZE = 32 << 20  # characters
MAX_DEPTH = 5  # nesting of objects and lists: document, hgb, trees, a tree, its node values
MAX_TREES = 2000
MAX_NODES = 1 << 16  # per tree
MAX_TOTAL_NODES = 1 << 20
MAX_TREE_DEPTH = 64
MAX_COLUMNS = 10000
MAX_INDEX = (1 << 31) - 1  # a node or column index
MAX_KEY = (1 << 63) - 1  # an integer category key (a record id): int64
MAX_MAGNITUDE = 1e15  # of any stored number


class ModelFormatError(ValueError):
    """A stored model is not a document this engine wrote: it is refused."""


# ------------------------------------------------------------
# Feature descriptions
# ------------------------------------------------------------

def category(name, label=None):
    return {"name": name, "kind": "category", "label": label or name}


def ordinal(name, levels, label=None):
    return {"name": name, "kind": "ordinal", "levels": list(levels), "label": label or name}


def number(name, label=None, log=False):
    return {"name": name, "kind": "log" if log else "number", "label": label or name}


def multi(name, label=None):
    return {"name": name, "kind": "multi", "label": label or name}


def _check_features(features):
    names = set()
    for feature in features:
        if not isinstance(feature, dict) or not isinstance(feature.get("name"), str) \
                or feature.get("kind") not in FEATURE_KINDS:
            raise ValueError(f"not a feature description: {feature!r}")
        if feature["name"] in names:
            raise ValueError(f"feature {feature['name']!r} is described twice")
        if feature["kind"] == "ordinal" and not feature.get("levels"):
            raise ValueError(f"ordinal feature {feature['name']!r} has no levels")
        names.add(feature["name"])


def _length(columns, features):
    lengths = {len(columns[feature["name"]]) for feature in features if feature["kind"] != "multi"}
    if len(lengths) > 1:
        raise ValueError(f"the columns have different lengths: {sorted(lengths)}")
    return lengths.pop() if lengths else None


def _category_keys(values):
    """(keys, missing) of a category column: int64 keys for integer columns, str keys otherwise."""
    values = np.asarray(values)
    if values.dtype.kind in "iub":
        keys = values.astype(np.int64)
        return keys, keys <= 0
    if values.dtype.kind == "f":
        missing = ~np.isfinite(values) | (values <= 0)
        return np.where(missing, 0, values).astype(np.int64), missing
    values = values.astype(object)
    missing = np.array([value is None or value is False or value == "" for value in values.tolist()], dtype=bool)
    keys = np.where(missing, "", values).astype(str)
    return keys, missing


def _key_positions(kept, keys):
    """Index of each key among the stored ``kept`` keys (sorted), -1 where absent.

    Integer keys are compared with string ones as text; string keys match no integer one.
    """
    if len(kept) and kept.dtype.kind != keys.dtype.kind:
        if kept.dtype.kind != "U":
            return np.full(len(keys), -1, dtype=np.int64)
        keys = keys.astype(str)
    return _lookup(kept, keys)


def _lookup(sorted_keys, keys):
    """Index of each key in ``sorted_keys``, -1 where absent."""
    if not len(sorted_keys):
        return np.full(len(keys), -1, dtype=np.int64)
    position = np.searchsorted(sorted_keys, keys)
    position = np.clip(position, 0, len(sorted_keys) - 1)
    return np.where(sorted_keys[position] == keys, position, -1)


def _as_key_array(keys):
    """Stored keys (JSON list of ints or of strings) as a sorted numpy array."""
    if keys and isinstance(keys[0], str):
        return np.array(keys, dtype=str)
    return np.array(keys, dtype=np.int64)


def _numeric_values(feature, values):
    values = np.asarray(values)
    if feature["kind"] == "ordinal":
        levels = feature["levels"]
        index = {level: position for position, level in enumerate(levels)}
        result = np.array([index.get(value, np.nan) for value in values.tolist()], dtype=np.float64)
    else:
        result = np.asarray(values, dtype=np.float64)
        if feature["kind"] == "log":
            result = np.log1p(np.clip(result, 0.0, None))
    return result


class Encoder:
    """Turns the input columns into the model's float matrix (fitted on the training rows).

    ``spec`` is JSON: the features and, per feature, what was learnt from the
    training data (kept categories, median, mean, scale...).
    """

    def __init__(self, spec):
        self.spec = spec
        self.columns = []  # output column names
        self.groups = []  # feature index of each output column
        for index, entry in enumerate(spec):
            for name in _entry_columns(entry):
                self.columns.append(name)
                self.groups.append(index)
        self.groups = np.array(self.groups, dtype=np.int64)

    @classmethod
    def fit(cls, features, columns, min_count=5, min_share=0.001, max_categories=50):
        """Learn the encoding from the training ``columns`` (dict name -> array)."""
        _check_features(features)
        n = _length(columns, features) or 0
        threshold = max(min_count, int(min_share * n))
        spec = []
        for feature in features:
            entry = dict(feature)
            values = columns[feature["name"]]
            if feature["kind"] == "category":
                keys, missing = _category_keys(values)
                present, counts = np.unique(keys[~missing], return_counts=True)
                kept = present[counts >= threshold]
                if len(kept) > max_categories:
                    kept = np.sort(present[np.argsort(-counts, kind="stable")[:max_categories]])
                entry["keys"] = kept.tolist()
                entry["other"] = bool(len(present) > len(kept))
                entry["missing"] = bool(missing.any())
            elif feature["kind"] == "multi":
                vals, _missing = _category_keys(values[1])
                present, counts = np.unique(vals, return_counts=True)
                kept = present[counts >= threshold]
                if len(kept) > max_categories:
                    kept = np.sort(present[np.argsort(-counts, kind="stable")[:max_categories]])
                entry["keys"] = kept.tolist()
            else:
                raw = _numeric_values(feature, values)
                missing = np.isnan(raw)
                median = float(np.median(raw[~missing])) if (~missing).any() else 0.0
                filled = np.where(missing, median, raw)
                std = float(filled.std()) if len(filled) else 0.0
                entry.update(median=median, mean=float(filled.mean()) if len(filled) else 0.0,
                             scale=std if std > SCALE_FLOOR else 1.0, missing=bool(missing.any()))
            spec.append(entry)
        return cls(spec)

    def transform(self, columns):
        """The (n, n_columns) float64 matrix of the rows of ``columns``."""
        n = _length(columns, self.spec)
        if n is None:
            raise ValueError("at least one feature must be a single-valued column")
        blocks = []
        for entry in self.spec:
            values = columns[entry["name"]]
            kind = entry["kind"]
            if kind == "category":
                keys, missing = _category_keys(values)
                kept = _as_key_array(entry["keys"])
                position = _key_positions(kept, keys)
                block = np.zeros((n, len(kept) + entry["other"] + entry["missing"]))
                found = position >= 0
                block[np.flatnonzero(found), position[found]] = 1.0
                if entry["other"]:
                    block[:, len(kept)] = ~found & ~missing
                if entry["missing"]:
                    block[:, -1] = missing
            elif kind == "multi":
                rows, vals = values
                rows = np.asarray(rows, dtype=np.int64)
                vals, _missing = _category_keys(vals)
                kept = _as_key_array(entry["keys"])
                position = _key_positions(kept, vals)
                block = np.zeros((n, len(kept)))
                found = position >= 0
                block[rows[found], position[found]] = 1.0
            else:
                raw = _numeric_values(entry, values)
                missing = np.isnan(raw)
                scaled = (np.where(missing, entry["median"], raw) - entry["mean"]) / entry["scale"]
                block = np.column_stack([scaled, missing]) if entry["missing"] else scaled[:, None]
            blocks.append(block)
        return np.hstack(blocks) if blocks else np.zeros((n, 0))

    def value_labels(self, columns, index):
        """Raw value of each feature for row ``index`` (what an explanation names), as Python values.

        Record ids are Python ints, never numpy's: the caller hands them to code that knows no numpy.
        """
        labels = []
        for entry in self.spec:
            values = columns[entry["name"]]
            if entry["kind"] == "multi":
                rows, vals = values
                labels.append(np.asarray(vals)[np.asarray(rows) == index].tolist())
            else:
                value = np.asarray(values)[index]
                labels.append(value.item() if isinstance(value, np.generic) else value)
        return labels


def _entry_columns(entry):
    name, kind = entry["name"], entry["kind"]
    if kind == "category":
        return ([f"{name}={key}" for key in entry["keys"]] + ([f"{name}:other"] if entry["other"] else [])
                + ([f"{name}:missing"] if entry["missing"] else []))
    if kind == "multi":
        return [f"{name}={key}" for key in entry["keys"]]
    return [name] + ([f"{name}:missing"] if entry["missing"] else [])


# ------------------------------------------------------------
# Models
# ------------------------------------------------------------

def _sigmoid(raw):
    return 1.0 / (1.0 + np.exp(-np.clip(raw, -500, 500)))


class ScoringModel:
    """A trained model: the encoder and either logistic regression coefficients or boosted trees."""

    def __init__(self, algorithm, encoder, reference, logreg=None, hgb=None):
        self.algorithm = algorithm
        self.encoder = encoder
        self.reference = np.asarray(reference, dtype=np.float64)  # training mean of each column
        self.logreg = logreg  # {"coef": (p,), "intercept": float}
        self.hgb = hgb  # {"baseline": float, "trees": [...]} with arrays
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
        self._depth = max((_tree_depth(tree) for tree in trees), default=0)

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

    def decision_function(self, X):
        """Log-odds of winning for the encoded rows ``X`` (n, p)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.encoder.columns):
            raise ValueError(f"X has shape {X.shape}, the model takes {len(self.encoder.columns)} columns")
        if self.algorithm == "logreg":
            return X @ self.logreg["coef"] + self.logreg["intercept"]
        return self._raw_hgb(X)

    def predict_proba_encoded(self, X):
        return _sigmoid(self.decision_function(X))

    def predict_proba(self, columns):
        """Probability of winning (n,) of the rows of ``columns`` (dict name -> array).

        Encoded and predicted by blocks of rows: memory stays bounded however many rows.
        """
        n = _length(columns, self.encoder.spec) or 0
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
        ``coef . (x - reference)`` over its columns. Boosted trees: a
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
        raw = self.decision_function(X)
        base_raw = float(self.decision_function(self.reference[None, :])[0])
        contributions = np.zeros((len(X), n_features))
        for index in range(n_features):
            columns = self.encoder.groups == index
            if not columns.any():
                continue
            if self.algorithm == "logreg":
                coef = self.logreg["coef"][columns]
                contributions[:, index] = (X[:, columns] - self.reference[columns]) @ coef
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
        return document

    def to_json(self):
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)


def _json_thresholds(thresholds):
    """Split thresholds for JSON: an infinite one (the split of missing from present values) as "inf"."""
    return [value if math.isfinite(value) else ("inf" if value > 0 else "-inf")
            for value in np.asarray(thresholds, dtype=np.float64).tolist()]


TREE_KEYS = ("feature_idx", "num_threshold", "missing_go_to_left", "left", "right", "is_leaf", "value")


def _tree_depth(tree):
    depth = np.zeros(len(tree["value"]), dtype=np.int64)
    for node in range(len(tree["value"])):
        if not tree["is_leaf"][node]:
            depth[tree["left"][node]] = depth[tree["right"][node]] = depth[node] + 1
    return int(depth.max()) if len(depth) else 0


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


# ------------------------------------------------------------
# Loading (strict)
# ------------------------------------------------------------

def _refuse(message):
    raise ModelFormatError(f"not a valid lead scoring model: {message}")


def _shown(value):
    """``value`` as an error message quotes it: short, whatever its size."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def _check_depth(document):
    """Refuse a document nested deeper than :data:`MAX_DEPTH`, walking it level by level (no recursion)."""
    level, depth = [document], 0
    while level:
        depth += 1
        if depth > MAX_DEPTH:
            _refuse(f"nested deeper than {MAX_DEPTH} levels")
        level = [child for node in level for child in (node.values() if isinstance(node, dict) else node)
                 if isinstance(child, dict | list)]


INFINITIES = {"inf": math.inf, "-inf": -math.inf}


def _number_list(value, what, length=None, integer=False, boolean=False, infinite=False):
    if not isinstance(value, list):
        _refuse(f"{what} must be a list")
    if length is not None and len(value) != length:
        _refuse(f"{what} must hold {length} values, not {len(value)}")
    for item in value:
        if boolean:
            if not isinstance(item, bool):
                _refuse(f"{what} must hold booleans")
        elif integer:
            if not isinstance(item, int) or isinstance(item, bool) or not 0 <= item <= MAX_INDEX:
                _refuse(f"{what} must hold integers from 0 to {MAX_INDEX}")
        # a number is compared before any conversion: a huge integer never meets float()
        elif isinstance(item, bool) or not isinstance(item, int | float) \
                or not (abs(item) <= MAX_MAGNITUDE or (infinite and isinstance(item, float) and math.isinf(item))):
            _refuse(f"{what} must hold finite numbers of at most {MAX_MAGNITUDE:g} in size")
    return value


def _check_keys(document, expected, what, optional=()):
    if not isinstance(document, dict):
        _refuse(f"{what} must be an object")
    keys = set(document)
    missing = set(expected) - keys
    unknown = keys - set(expected) - set(optional)
    if missing or unknown:
        _refuse(f"{what}: missing keys {sorted(missing)}, unknown keys {sorted(unknown)}")


def _load_feature(entry, index):
    what = f"feature {index}"
    if not isinstance(entry, dict) or entry.get("kind") not in FEATURE_KINDS:
        _refuse(f"{what} has no known kind")
    base = ("name", "kind", "label")
    kind = entry["kind"]
    if kind == "category":
        _check_keys(entry, (*base, "keys", "other", "missing"), what)
    elif kind == "multi":
        _check_keys(entry, (*base, "keys"), what)
    else:
        extra = ("levels",) if kind == "ordinal" else ()
        _check_keys(entry, (*base, *extra, "median", "mean", "scale", "missing"), what)
        for key in ("median", "mean", "scale"):
            _number_list([entry[key]], f"{what} {key}")
        if entry["scale"] <= SCALE_FLOOR:
            _refuse(f"{what} has a scale that is not positive")
        if kind == "ordinal" and (not isinstance(entry["levels"], list) or not entry["levels"] or not all(
                isinstance(level, str | int) and not isinstance(level, bool) for level in entry["levels"])):
            _refuse(f"{what} levels must be a list of strings or integers")
    if not isinstance(entry["name"], str) or not isinstance(entry["label"], str):
        _refuse(f"{what} name and label must be strings")
    for key in ("other", "missing"):
        if key in entry and not isinstance(entry[key], bool):
            _refuse(f"{what} {key} must be a boolean")
    if "keys" in entry:
        keys = entry["keys"]
        if not isinstance(keys, list) or not (
                all(isinstance(key, str) for key in keys)
                or all(isinstance(key, int) and not isinstance(key, bool) and abs(key) <= MAX_KEY for key in keys)):
            _refuse(f"{what} keys must be all strings or all integers of at most 64 bits")
        if keys != sorted(keys) or len(set(keys)) != len(keys):
            _refuse(f"{what} keys must be sorted and distinct")
    return entry


def load_model(document):
    """Load a model stored by :meth:`ScoringModel.to_json`; refuse anything else.

    :param document: the JSON text (or its parsed dict)
    :raise ModelFormatError: the document is not a model of this schema and version
    """
    if isinstance(document, str | bytes):
        if len(document) > MAX_DOCUMENT_SIZE:
            _refuse(f"the document is too large ({len(document):,} characters, at most {MAX_DOCUMENT_SIZE:,})")
        try:
            document = json.loads(document, parse_constant=lambda name: _refuse(f"{name} is not a number"))
        except RecursionError as error:
            raise ModelFormatError(f"not a valid lead scoring model: nested deeper than {MAX_DEPTH} levels") \
                from error
        except ValueError as error:
            if isinstance(error, ModelFormatError):
                raise
            raise ModelFormatError(f"not a valid lead scoring model: not JSON ({_shown(str(error))})") from error
    _check_depth(document)
    if not isinstance(document, dict):
        _refuse("the document must be a JSON object")
    if document.get("schema") != SCHEMA:
        _refuse(f"schema {_shown(document.get('schema'))}, expected {SCHEMA!r}")
    if document.get("version") != VERSION:
        _refuse(f"version {_shown(document.get('version'))}, this engine reads version {VERSION}")
    algorithm = document.get("algorithm")
    if algorithm not in ALGORITHMS:
        _refuse(f"unknown algorithm {_shown(algorithm)}")
    _check_keys(document, ("schema", "version", "algorithm", "features", "reference", algorithm), "the document")
    features = document["features"]
    if not isinstance(features, list) or not features:
        _refuse("features must be a non-empty list")
    spec = [_load_feature(entry, index) for index, entry in enumerate(features)]
    if len({entry["name"] for entry in spec}) != len(spec):
        _refuse("a feature is described twice")
    encoder = Encoder(spec)
    n_columns = len(encoder.columns)
    if not n_columns or n_columns > MAX_COLUMNS:
        _refuse(f"{n_columns} encoded columns")
    reference = _number_list(document["reference"], "reference", n_columns)
    if algorithm == "logreg":
        params = document["logreg"]
        _check_keys(params, ("coef", "intercept"), "logreg")
        coef = _number_list(params["coef"], "logreg coef", n_columns)
        _number_list([params["intercept"]], "logreg intercept")
        return ScoringModel("logreg", encoder, reference,
                            logreg={"coef": np.array(coef, dtype=np.float64), "intercept": float(params["intercept"])})
    params = document["hgb"]
    _check_keys(params, ("baseline", "trees"), "hgb")
    _number_list([params["baseline"]], "hgb baseline")
    if not isinstance(params["trees"], list) or len(params["trees"]) > MAX_TREES:
        _refuse(f"hgb trees must be a list of at most {MAX_TREES} trees")
    trees = [_load_tree(tree, index, n_columns) for index, tree in enumerate(params["trees"])]
    if sum(len(tree["value"]) for tree in trees) > MAX_TOTAL_NODES:
        _refuse(f"the trees have more than {MAX_TOTAL_NODES} nodes in all")
    return ScoringModel("hgb", encoder, reference, hgb={"baseline": float(params["baseline"]), "trees": trees})


def _load_tree(tree, index, n_columns):
    what = f"tree {index}"
    _check_keys(tree, TREE_KEYS, what)
    size = len(tree["value"]) if isinstance(tree["value"], list) else 0
    if not 1 <= size <= MAX_NODES:
        _refuse(f"{what} must have between 1 and {MAX_NODES} nodes")
    thresholds = tree["num_threshold"]
    if isinstance(thresholds, list):
        thresholds = [INFINITIES.get(value, value) if isinstance(value, str) else value for value in thresholds]
    for key in TREE_KEYS:
        _number_list(thresholds if key == "num_threshold" else tree[key], f"{what} {key}", size,
                     integer=key in ("feature_idx", "left", "right"), boolean=key in ("missing_go_to_left", "is_leaf"),
                     infinite=key == "num_threshold")
    arrays = {key: np.array(tree[key]) for key in TREE_KEYS}
    arrays["num_threshold"] = np.array(thresholds, dtype=np.float64)
    inner = ~arrays["is_leaf"].astype(bool)
    node_index = np.arange(size)
    # children come after their parent: the traversal ends and no node has two parents
    if np.any(inner & ((arrays["left"] <= node_index) | (arrays["right"] <= node_index)
                       | (arrays["left"] >= size) | (arrays["right"] >= size))):
        _refuse(f"{what} has a child that is not a later node of the tree")
    if np.any(inner & ((arrays["feature_idx"] < 0) | (arrays["feature_idx"] >= n_columns))):
        _refuse(f"{what} splits on a column the model does not have")
    children = np.concatenate([arrays["left"][inner], arrays["right"][inner]])
    if len(np.unique(children)) != len(children) or len(children) != size - 1:
        _refuse(f"{what} is not a tree")
    if _tree_depth(arrays) > MAX_TREE_DEPTH:
        _refuse(f"{what} is deeper than {MAX_TREE_DEPTH} levels")
    return {
        "feature_idx": arrays["feature_idx"].astype(np.int64), "num_threshold": arrays["num_threshold"].astype(float),
        "missing_go_to_left": arrays["missing_go_to_left"].astype(bool), "left": arrays["left"].astype(np.int64),
        "right": arrays["right"].astype(np.int64), "is_leaf": arrays["is_leaf"].astype(bool),
        "value": arrays["value"].astype(np.float64),
    }


# ------------------------------------------------------------
# Metrics
# ------------------------------------------------------------

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


# ------------------------------------------------------------
# Training
# ------------------------------------------------------------

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


def subset(columns, features, index):
    """The rows ``index`` of ``columns`` (multi-valued columns renumbered)."""
    index = np.asarray(index, dtype=np.int64)
    result = {}
    for feature in features:
        values = columns[feature["name"]]
        if feature["kind"] == "multi":
            rows, vals = np.asarray(values[0], dtype=np.int64), np.asarray(values[1])
            n = max(int(rows.max()) + 1 if len(rows) else 0, int(index.max()) + 1 if len(index) else 0)
            new_position = np.full(n, -1, dtype=np.int64)
            new_position[index] = np.arange(len(index))
            kept = new_position[rows] >= 0
            result[feature["name"]] = (new_position[rows[kept]], vals[kept])
        else:
            result[feature["name"]] = np.asarray(values)[index]
    return result


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


def train(columns, y, order, features, *, valid_fraction=0.2, algorithms=ALGORITHMS, random_state=0,
          max_train_rows=250000, tier_thresholds=(), min_count=5, progress=None):
    """Train on the older rows, validate on the newest, keep the algorithm with the best validation ROC AUC.

    :param columns: dict feature name -> array (n,) (multi: (rows, values) pair)
    :param y: (n,) 1 won, 0 lost
    :param order: (n,) closing order (a timestamp): larger is newer
    :param features: feature descriptions (see :func:`category` and friends)
    :param max_train_rows: more training rows than this are sampled (seeded) to
        bound time and memory; the validation rows are never sampled
    :param tier_thresholds: the tiers' minimum scores, for conversion and lift per tier
    :param progress: optional callable ``progress(algorithm, done, total)``, called before each
        candidate (see :func:`candidates`) is fitted with the number fitted so far and their total
    :raise ValueError: fewer than two classes in the training or the validation rows
    """
    _check_features(features)
    y = np.asarray(y, dtype=np.int64)
    if len(y) != _length(columns, features) or len(y) != len(order):
        raise ValueError("y, order and the columns must have the same length")
    unknown = set(algorithms) - set(ALGORITHMS)
    if unknown or not algorithms:
        raise ValueError(f"unknown algorithms {sorted(unknown)}; known: {ALGORITHMS}")
    train_index, valid_index = time_split(order, valid_fraction)
    if len(np.unique(y[train_index])) < 2 or len(np.unique(y[valid_index])) < 2:
        raise ValueError("both the training and the validation leads must hold won and lost leads")
    if max_train_rows and len(train_index) > max_train_rows:
        rng = np.random.default_rng(random_state)
        train_index = np.sort(rng.choice(train_index, max_train_rows, replace=False))
    train_columns = subset(columns, features, train_index)
    encoder = Encoder.fit(features, train_columns, min_count=min_count)
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
        params = _fit(algorithm, settings, X_train, y[train_index], random_state)
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
        model=models[best], metrics=evaluate(y_valid, predictions[best], tier_thresholds), scores=scores,
        train_index=train_index, valid_index=valid_index, validation_cutoff=float(order[valid_index].min()),
        settings=dict(settings_of[best]), candidates=tried,
        n_won=int(y.sum()), n_lost=int(len(y) - y.sum()), models=models)
