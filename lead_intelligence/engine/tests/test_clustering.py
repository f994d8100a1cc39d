import numpy as np
import pytest
from engine import clustering

FEATURES = ("fit", "downloads", "size_large")


def _blobs(seed=0, per_blob=300):
    """Three well separated groups: (high fit, few downloads, large), (low fit, many downloads, small),
    (average fit, average downloads, small)."""
    rng = np.random.default_rng(seed)
    centres = np.array([[80.0, 1.0, 1.0], [20.0, 30.0, 0.0], [50.0, 10.0, 0.0]])
    rows = [centre + rng.normal(0, [3.0, 1.0, 0.0], size=(per_blob, 3)) for centre in centres]
    X = np.concatenate(rows)
    truth = np.repeat(np.arange(3), per_blob)
    return X, truth


def _chunks(X, size=250):
    return lambda: (X[start:start + size] for start in range(0, len(X), size))


def test_silhouette_picks_the_number_of_groups_and_recovers_them():
    X, truth = _blobs()
    segments = clustering.fit_segments(FEATURES, _chunks(X), random_state=1)
    assert len(segments.centres) == 3
    assigned = clustering.nearest(segments, X)
    # each true group falls in one segment, and the segments differ
    for group in range(3):
        assert len(np.unique(assigned[truth == group])) == 1
    assert len(np.unique(assigned)) == 3
    assert segments.silhouette > 0.5


def test_deterministic_and_json_round_trip():
    X, _truth = _blobs()
    first = clustering.fit_segments(FEATURES, _chunks(X), k=3, random_state=7)
    second = clustering.fit_segments(FEATURES, _chunks(X), k=3, random_state=7)
    np.testing.assert_array_equal(first.centres, second.centres)
    again = clustering.Segments.from_json(first.to_json())
    np.testing.assert_array_equal(clustering.nearest(again, X), clustering.nearest(first, X))


def test_describe_names_the_dominant_features():
    X, truth = _blobs()
    segments = clustering.fit_segments(FEATURES, _chunks(X), k=3, random_state=3)
    labels = {"fit": ("good fit", "poor fit"), "downloads": ("heavy downloads", "few downloads"),
              "size_large": ("large companies", None)}
    words = clustering.describe(segments, labels)
    assigned = clustering.nearest(segments, X)
    large = assigned[truth == 0][0]
    downloaders = assigned[truth == 1][0]
    assert "large companies" in words[large] and "good fit" in words[large]
    assert words[downloaders][:1] == ["heavy downloads"] or "heavy downloads" in words[downloaders]
    assert "poor fit" in words[downloaders]


def test_bad_documents_and_too_few_rows_are_refused():
    with pytest.raises(ValueError):
        clustering.Segments.from_json({"features": ["a"], "mean": [0.0], "scale": [1.0], "centres": [[1.0, 2.0]],
                                       "silhouette": 0})
    with pytest.raises(ValueError):
        clustering.fit_segments(FEATURES, _chunks(np.ones((2, 3))), random_state=0)
