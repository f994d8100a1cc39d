"""Segments of similar leads found in the data: scaling, k-means, the nearest segment, and a
description of each segment in words.

Features are numbers (scores, behaviour counters: log-scaled) and categories (one indicator
column per value). :class:`Scaler` standardises them from sums accumulated a chunk at a time;
:func:`fit_segments` runs scikit-learn's ``MiniBatchKMeans`` with ``partial_fit`` over the same
chunks, choosing the number of segments by the silhouette of a sample when none is given. The
result, :class:`Segments`, is plain arrays, stored as JSON and applied by :func:`nearest`.
Everything is seeded: one seed and one data set, one set of segments.
"""

from dataclasses import dataclass

import numpy as np

# a segment is described by its features this many standard deviations from the mean, or more
DESCRIBE_THRESHOLD = 0.5
DESCRIBE_TERMS = 3


@dataclass(frozen=True)
class Scaler:
    """Mean and scale of each feature (a scale of 0 is taken as 1: a constant column)."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def from_chunks(cls, chunks):
        """The scaler of the rows of ``chunks``, an iterable of (n, f) float arrays."""
        count, total, squares = 0, None, None
        for X in chunks:
            X = np.asarray(X, dtype=np.float64)
            if total is None:
                total, squares = np.zeros(X.shape[1]), np.zeros(X.shape[1])
            count += len(X)
            total += X.sum(axis=0)
            squares += np.square(X).sum(axis=0)
        if not count:
            raise ValueError("no rows to scale")
        mean = total / count
        variance = np.maximum(squares / count - np.square(mean), 0.0)
        scale = np.sqrt(variance)
        return cls(mean=mean, scale=np.where(scale > 1e-12, scale, 1.0))

    def transform(self, X):
        return (np.asarray(X, dtype=np.float64) - self.mean) / self.scale


@dataclass(frozen=True)
class Segments:
    """Fitted segments: the scaler and the centres (k, f) in standardised units."""

    features: tuple
    scaler: Scaler
    centres: np.ndarray
    silhouette: float

    def to_json(self):
        return {"features": list(self.features), "mean": self.scaler.mean.tolist(),
                "scale": self.scaler.scale.tolist(), "centres": self.centres.tolist(),
                "silhouette": self.silhouette}

    @classmethod
    def from_json(cls, data):
        """Segments from :meth:`to_json`'s document; ValueError when it is not one."""
        try:
            features = tuple(str(name) for name in data["features"])
            mean = np.asarray(data["mean"], dtype=np.float64)
            scale = np.asarray(data["scale"], dtype=np.float64)
            centres = np.asarray(data["centres"], dtype=np.float64)
            silhouette = float(data["silhouette"])
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"not a segments document: {error}") from error
        width = len(features)
        if mean.shape != (width,) or scale.shape != (width,) or centres.ndim != 2 or centres.shape[1] != width \
                or not len(centres) or not np.isfinite(centres).all() or (scale <= 0).any():
            raise ValueError("not a segments document: inconsistent shapes or values")
        return cls(features, Scaler(mean, scale), centres, silhouette)


def nearest(segments, X):
    """The index of the nearest centre of each row of ``X`` (n, f)."""
    Z = segments.scaler.transform(X)
    distances = ((Z[:, None, :] - segments.centres[None, :, :]) ** 2).sum(axis=2)
    return distances.argmin(axis=1)


def choose_k(sample, k_range, random_state):
    """The number of segments in ``k_range`` whose k-means of ``sample`` (standardised) has the
    best silhouette; returns (k, silhouette)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    best = None
    for k in k_range:
        if k >= len(sample):
            break
        labels = KMeans(n_clusters=k, n_init=3, random_state=random_state).fit_predict(sample)
        if len(np.unique(labels)) < 2:
            continue
        score = float(silhouette_score(sample, labels, random_state=random_state))
        if best is None or score > best[1] + 1e-9:
            best = (k, score)
    if best is None:
        raise ValueError("too few distinct leads to find segments")
    return best


def fit_segments(features, chunks, k=None, k_range=range(2, 9), random_state=0, sample_size=5000):
    """Segments of the rows of ``chunks()`` (a callable returning a fresh iterable of (n, f)
    arrays: it is read twice, for the scaler and for the fit).

    :param k: the number of segments; None: chosen by :func:`choose_k` on a seeded sample
    :raise ValueError: too few rows or distinct rows
    """
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.metrics import silhouette_score

    scaler = Scaler.from_chunks(chunks())
    rng = np.random.default_rng(random_state)
    # a reservoir sample, for the choice of k and the silhouette reported
    sample, seen = None, 0
    for X in chunks():
        Z = scaler.transform(X)
        if sample is None:
            sample = np.empty((0, Z.shape[1]))
        take = min(len(Z), sample_size)
        keep = rng.choice(len(Z), size=take, replace=False) if len(Z) > take else np.arange(len(Z))
        sample = np.concatenate([sample, Z[keep]])
        seen += len(Z)
        if len(sample) > sample_size:
            sample = sample[rng.choice(len(sample), size=sample_size, replace=False)]
    if sample is None or len(sample) < 3:
        raise ValueError("too few leads to find segments")
    if k is None:
        k, _score = choose_k(sample, k_range, random_state)
    if k > len(sample):
        raise ValueError(f"{k} segments need at least {k} leads")
    model = MiniBatchKMeans(n_clusters=k, random_state=random_state, batch_size=4096, n_init=3)
    # the first batch must hold at least k rows: start with the sample, then every chunk
    model.partial_fit(sample)
    for X in chunks():
        Z = scaler.transform(X)
        if len(Z) >= k:
            model.partial_fit(Z)
    labels = model.predict(sample)
    silhouette = float(silhouette_score(sample, labels, random_state=random_state)) \
        if len(np.unique(labels)) > 1 else 0.0
    order = np.lexsort(model.cluster_centers_.T[::-1])  # a stable order of the centres
    return Segments(tuple(features), scaler, model.cluster_centers_[order], silhouette)


def describe(segments, labels):
    """Words for each segment: its features furthest from the mean (in standard deviations),
    most distinctive first, at most :data:`DESCRIBE_TERMS`.

    :param labels: feature name -> (words when high, words when low or None): for an indicator
        column, (its value's name, None), as being less often than usual in a category is no
        description
    :return: one list of phrases per segment (empty: an average segment)
    """
    phrases = []
    for centre in segments.centres:
        terms = []
        for index in np.argsort(-np.abs(centre), kind="stable"):
            value = centre[index]
            if abs(value) < DESCRIBE_THRESHOLD or len(terms) == DESCRIBE_TERMS:
                break
            high, low = labels[segments.features[index]]
            words = high if value > 0 else low
            if words:
                terms.append(words)
        phrases.append(terms)
    return phrases
