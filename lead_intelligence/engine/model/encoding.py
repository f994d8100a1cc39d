"""Feature descriptions and the encoder that turns input columns into the model's float matrix.

* ``category``: one-hot; values seen fewer than ``min_count`` times in the
  training data share an ``other`` column; a ``missing`` column when the
  training data had missing values. Integer columns (record ids) are missing
  where ``<= 0``; object / string columns where ``None``, ``False`` or ``''``.
* ``ordinal``: ordered ``levels`` become 0, 1, 2...; a value outside them is
  missing (imputed with the training median, plus a missing indicator).
* ``number`` / ``log``: a float (NaN is missing); ``log`` takes ``log1p`` of
  the value clipped at 0 (revenues, headcounts, seconds); missing values get
  the training median and an indicator column.
* ``multi``: a set of values per row (tags), given as a pair ``(rows,
  values)``; one 0/1 column per value seen ``min_count`` times.

Numeric and ordinal columns are standardised with the training mean and
standard deviation (logistic regression needs it; trees do not care).

Input columns are a dict feature name -> array (n,) (``multi``: a ``(rows,
values)`` pair).
"""

import numpy as np

FEATURE_KINDS = ("category", "ordinal", "number", "log", "multi")
SCALE_FLOOR = 1e-12  # a standard deviation below this is no spread: the column is not scaled


def category(name, label=None):
    return {"name": name, "kind": "category", "label": label or name}


def ordinal(name, levels, label=None):
    return {"name": name, "kind": "ordinal", "levels": list(levels), "label": label or name}


BINNED_KINDS = ("number", "log")  # an ordinal's few levels need no bins


def number(name, label=None, log=False):
    return {"name": name, "kind": "log" if log else "number", "label": label or name}


def multi(name, label=None):
    return {"name": name, "kind": "multi", "label": label or name}


def check_features(features):
    """:raise ValueError: ``features`` is not a list of distinct, well-formed feature descriptions."""
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


def row_count(columns, features):
    """Number of rows of ``columns``, or None when every feature is multi-valued.

    :raise ValueError: the single-valued columns have different lengths
    """
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


def _kept_keys(keys, threshold, max_categories):
    """(present, kept) sorted keys: those in ``keys``, and those seen ``threshold`` times or more,
    at most the ``max_categories`` most frequent (ties: the lowest keys)."""
    present, counts = np.unique(keys, return_counts=True)
    kept = present[counts >= threshold]
    if len(kept) > max_categories:
        kept = np.sort(present[np.argsort(-counts, kind="stable")[:max_categories]])
    return present, kept


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


BIN_QUANTILES = (0.2, 0.4, 0.6, 0.8)
MIN_BIN_VALUES = 10  # distinct training values a number needs to be cut in bins


def _bin_cuts(raw):
    """Cut points of a number's training values ``raw`` (NaN: missing) at :data:`BIN_QUANTILES`: distinct,
    above the smallest value (a cut below every value would make a constant column); none for a number
    of fewer than :data:`MIN_BIN_VALUES` distinct values."""
    present = raw[~np.isnan(raw)]
    if len(np.unique(present)) < MIN_BIN_VALUES:
        return []
    cuts = np.unique(np.quantile(present, BIN_QUANTILES))
    return [float(cut) for cut in cuts if cut > present.min()]


class Encoder:
    """Turns the input columns into the model's float matrix (fitted on the training rows).

    ``spec`` is JSON: the features and, per feature, what was learnt from the
    training data (kept categories, median, mean, scale...).

    A number is one standardised column and, when it has enough distinct values,
    one step column per cut point of its training quintiles (``name>=cut``, 1
    from the cut up): a shape logistic regression can follow where a number's
    effect is not a straight line (a band that converts, a plateau).
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
        check_features(features)
        n = row_count(columns, features) or 0
        threshold = max(min_count, int(min_share * n))
        spec = []
        for feature in features:
            entry = dict(feature)
            values = columns[feature["name"]]
            if feature["kind"] == "category":
                keys, missing = _category_keys(values)
                present, kept = _kept_keys(keys[~missing], threshold, max_categories)
                entry["keys"] = kept.tolist()
                entry["other"] = bool(len(present) > len(kept))
                entry["missing"] = bool(missing.any())
            elif feature["kind"] == "multi":
                _rows, vals = values
                vals, _missing = _category_keys(vals)
                _present, kept = _kept_keys(vals, threshold, max_categories)
                entry["keys"] = kept.tolist()
            else:
                raw = _numeric_values(feature, values)
                missing = np.isnan(raw)
                median = float(np.median(raw[~missing])) if (~missing).any() else 0.0
                filled = np.where(missing, median, raw)
                std = float(filled.std()) if len(filled) else 0.0
                entry.update(median=median, mean=float(filled.mean()) if len(filled) else 0.0,
                             scale=std if std > SCALE_FLOOR else 1.0, missing=bool(missing.any()))
                if feature["kind"] in BINNED_KINDS:
                    entry["bins"] = _bin_cuts(raw)
            spec.append(entry)
        return cls(spec)

    def transform(self, columns):
        """The (n, n_columns) float64 matrix of the rows of ``columns``."""
        n = row_count(columns, self.spec)
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
                filled = np.where(missing, entry["median"], raw)
                scaled = (filled - entry["mean"]) / entry["scale"]
                steps = filled[:, None] >= np.asarray(entry.get("bins", ()), dtype=np.float64)[None, :]
                block = np.column_stack([scaled, steps] + ([missing] if entry["missing"] else []))
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
    return ([name] + [f"{name}>={cut}" for cut in entry.get("bins", ())]
            + ([f"{name}:missing"] if entry["missing"] else []))


def subset(columns, features, index):
    """The rows ``index`` of ``columns`` (multi-valued columns renumbered)."""
    index = np.asarray(index, dtype=np.int64)
    result = {}
    for feature in features:
        values = columns[feature["name"]]
        if feature["kind"] == "multi":
            rows, vals = values
            rows, vals = np.asarray(rows, dtype=np.int64), np.asarray(vals)
            n = max(int(rows.max()) + 1 if len(rows) else 0, int(index.max()) + 1 if len(index) else 0)
            new_position = np.full(n, -1, dtype=np.int64)
            new_position[index] = np.arange(len(index))
            kept = new_position[rows] >= 0
            result[feature["name"]] = (new_position[rows[kept]], vals[kept])
        else:
            result[feature["name"]] = np.asarray(values)[index]
    return result
