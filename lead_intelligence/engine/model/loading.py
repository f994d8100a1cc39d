"""Strict loading of a stored model document (written by :meth:`.ScoringModel.to_json`).

Loading checks the document strictly (size, nesting depth, schema, version,
keys, types, array lengths, the range of every number and index, tree
structure and depth, the order of a calibration's knots) and raises
:class:`ModelFormatError` for anything else, never another exception; nothing
is unpickled or evaluated.
"""

import itertools
import json
import math

import numpy as np

from .encoding import BINNED_KINDS, FEATURE_KINDS, SCALE_FLOOR, Encoder
from .predictor import ALGORITHMS, SCHEMA, TREE_KEYS, VERSION, ScoringModel, tree_depth

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
INFINITIES = {"inf": math.inf, "-inf": -math.inf}
MAX_BINS = 32  # cut points of a number
MAX_CALIBRATION_SLOPE = 10.0  # see .calibration: fitted slopes are clipped to at most 4
MAX_CALIBRATION_INTERCEPT = 50.0  # log-odds; also bounds the knots of an isotonic calibration
MAX_CALIBRATION_KNOTS = 1000  # of an isotonic calibration; see .calibration: training writes at most 200


class ModelFormatError(ValueError):
    """A stored model is not a document this engine wrote: it is refused."""


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


def _number_list(value, what, length=None, *, integer=False, boolean=False, infinite=False):
    """Refuse ``value`` unless it is a list of ``length`` (when given) numbers of the kind the flags say.

    :param integer: node or column indexes, from 0 to :data:`MAX_INDEX`
    :param boolean: booleans
    :param infinite: numbers, infinite ones allowed (split thresholds)
    :return: ``value``
    """
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
        _check_keys(entry, (*base, *extra, "median", "mean", "scale", "missing"), what,
                    optional=("bins",) if kind in BINNED_KINDS else ())
        if "bins" in entry:
            bins = _number_list(entry["bins"], f"{what} bins")
            if len(bins) > MAX_BINS or any(low >= high for low, high in itertools.pairwise(bins)):
                _refuse(f"{what} bins must be at most {MAX_BINS} increasing numbers")
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
    _check_keys(document, ("schema", "version", "algorithm", "features", "reference", algorithm), "the document",
                optional=("calibration",))
    calibration = _load_calibration(document.get("calibration"))
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
                            logreg={"coef": np.array(coef, dtype=np.float64), "intercept": float(params["intercept"])},
                            calibration=calibration)
    params = document["hgb"]
    _check_keys(params, ("baseline", "trees"), "hgb")
    _number_list([params["baseline"]], "hgb baseline")
    if not isinstance(params["trees"], list) or len(params["trees"]) > MAX_TREES:
        _refuse(f"hgb trees must be a list of at most {MAX_TREES} trees")
    trees = [_load_tree(tree, index, n_columns) for index, tree in enumerate(params["trees"])]
    if sum(len(tree["value"]) for tree in trees) > MAX_TOTAL_NODES:
        _refuse(f"the trees have more than {MAX_TOTAL_NODES} nodes in all")
    return ScoringModel("hgb", encoder, reference, hgb={"baseline": float(params["baseline"]), "trees": trees},
                        calibration=calibration)


def _load_calibration(calibration):
    """The model's calibration, None when the document has none (an uncalibrated model).

    Platt's has no ``method`` (as stored before the isotonic map), an isotonic one is
    :func:`_load_isotonic`'s.
    """
    if calibration is None:
        return None
    if isinstance(calibration, dict) and "method" in calibration:
        return _load_isotonic(calibration)
    _check_keys(calibration, ("slope", "intercept"), "calibration")
    _number_list([calibration["slope"], calibration["intercept"]], "calibration")
    if not 0 < calibration["slope"] <= MAX_CALIBRATION_SLOPE:
        _refuse(f"calibration slope must be positive and at most {MAX_CALIBRATION_SLOPE}")
    if abs(calibration["intercept"]) > MAX_CALIBRATION_INTERCEPT:
        _refuse(f"calibration intercept must be within +-{MAX_CALIBRATION_INTERCEPT}")
    return {"slope": float(calibration["slope"]), "intercept": float(calibration["intercept"])}


def _load_isotonic(calibration):
    """An isotonic calibration: knots ``x`` strictly increasing and ``y`` non-decreasing, as many of each
    (2 to :data:`MAX_CALIBRATION_KNOTS`), within +-:data:`MAX_CALIBRATION_INTERCEPT` as the intercept."""
    if calibration["method"] != "isotonic":
        _refuse(f"unknown calibration method {_shown(calibration['method'])}")
    _check_keys(calibration, ("method", "x", "y", "intercept"), "calibration")
    knots = {}
    for key in ("x", "y"):
        values = calibration[key]
        if not isinstance(values, list) or not 2 <= len(values) <= MAX_CALIBRATION_KNOTS:
            _refuse(f"calibration {key} must be a list of 2 to {MAX_CALIBRATION_KNOTS} numbers")
        _number_list(values, f"calibration {key}")
        if any(abs(value) > MAX_CALIBRATION_INTERCEPT for value in values):
            _refuse(f"calibration {key} must be within +-{MAX_CALIBRATION_INTERCEPT}")
        knots[key] = values
    if len(knots["x"]) != len(knots["y"]):
        _refuse(f"calibration x and y must hold as many values, not {len(knots['x'])} and {len(knots['y'])}")
    if any(low >= high for low, high in itertools.pairwise(knots["x"])):
        _refuse("calibration x must be strictly increasing")
    if any(low > high for low, high in itertools.pairwise(knots["y"])):
        _refuse("calibration y must be non-decreasing")
    _number_list([calibration["intercept"]], "calibration intercept")
    if abs(calibration["intercept"]) > MAX_CALIBRATION_INTERCEPT:
        _refuse(f"calibration intercept must be within +-{MAX_CALIBRATION_INTERCEPT}")
    return {"method": "isotonic", "x": np.array(knots["x"], dtype=np.float64),
            "y": np.array(knots["y"], dtype=np.float64), "intercept": float(calibration["intercept"])}


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
    if tree_depth(arrays) > MAX_TREE_DEPTH:
        _refuse(f"{what} is deeper than {MAX_TREE_DEPTH} levels")
    return {
        "feature_idx": arrays["feature_idx"].astype(np.int64), "num_threshold": arrays["num_threshold"].astype(float),
        "missing_go_to_left": arrays["missing_go_to_left"].astype(bool), "left": arrays["left"].astype(np.int64),
        "right": arrays["right"].astype(np.int64), "is_leaf": arrays["is_leaf"].astype(bool),
        "value": arrays["value"].astype(np.float64),
    }
