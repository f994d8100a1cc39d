"""Vectorised lead scoring: rule points, 0-100 mapping, blending and tier cut.

Pure numpy, no Odoo import. Every function works on whole arrays (one row per
lead) so that a chunk of tens of thousands of leads is scored in a few
milliseconds; the Odoo adapter only moves columns in and out.
"""

from dataclasses import dataclass, field
from fractions import Fraction
from itertools import pairwise

import numpy as np

FIT_MAPPINGS = ("linear", "logistic")
RULES_PER_WORD = 62  # rule matches packed into the low bits of a signed 64-bit integer


def rule_points(matches, points):
    """Sum the points of the rules each lead matches.

    :param matches: bool or 0/1 array of shape (n_leads, n_rules)
    :param points: array of shape (n_rules,), positive or negative points
    :return: float array of shape (n_leads,)
    """
    matches = np.asarray(matches, dtype=np.float64)
    points = np.asarray(points, dtype=np.float64)
    if matches.ndim != 2 or matches.shape[1] != points.shape[0]:
        raise ValueError(f"matches {matches.shape} does not fit points {points.shape}")
    return matches @ points


def unpack_matches(words, n_rules):
    """Unpack rule matches read from the database as bit words.

    Matching 30 rules on 20,000 leads as 30 boolean columns sends 600,000 values
    through the driver; packed, one integer per lead and 62 rules.

    :param words: int array of shape (n_leads, n_words); bit ``j`` of word ``w``
        is rule ``w * RULES_PER_WORD + j``
    :return: bool array of shape (n_leads, n_rules)
    """
    words = np.asarray(words, dtype=np.int64)
    if words.ndim != 2:
        raise ValueError(f"words must be a 2-D array, not of shape {words.shape}")
    if words.shape[1] * RULES_PER_WORD < n_rules:
        raise ValueError(f"{words.shape[1]} words cannot hold {n_rules} rules")
    bits = (words[:, :, None] >> np.arange(RULES_PER_WORD, dtype=np.int64)) & 1
    return bits.reshape(len(words), words.shape[1] * RULES_PER_WORD)[:, :n_rules].astype(bool)


def pack_matches(matches):
    """Pack rule matches into bit words, the inverse of :func:`unpack_matches`.

    :param matches: bool array of shape (n_leads, n_rules)
    :return: int64 array of shape (n_leads, word_count(n_rules)); bit ``j`` of word ``w``
        is rule ``w * RULES_PER_WORD + j``
    """
    matches = np.asarray(matches, dtype=bool)
    if matches.ndim != 2:
        raise ValueError(f"matches must be a 2-D array, not of shape {matches.shape}")
    n_words = word_count(matches.shape[1])
    padded = np.zeros((len(matches), n_words * RULES_PER_WORD), dtype=np.int64)
    padded[:, :matches.shape[1]] = matches
    bits = padded.reshape(len(matches), n_words, RULES_PER_WORD) << np.arange(RULES_PER_WORD, dtype=np.int64)
    return bits.sum(axis=2, dtype=np.int64)


def word_count(n_rules):
    """Number of 64-bit words that hold ``n_rules`` rule matches."""
    return -(-n_rules // RULES_PER_WORD)


def points_to_score(points, mapping="linear", low=0.0, high=100.0):
    """Map raw fit points to a 0-100 score.

    ``linear``: ``low`` points give 0, ``high`` points give 100, clipped outside.
    ``logistic``: an S-curve centred between ``low`` and ``high`` whose slope puts
    ``low`` at about 5 and ``high`` at about 95; it never saturates, so leads far
    above the ceiling are still ordered.

    :param points: array of shape (n,)
    :return: float array of shape (n,) in [0, 100]
    """
    if mapping not in FIT_MAPPINGS:
        raise ValueError(f"unknown mapping {mapping!r}, expected one of {FIT_MAPPINGS}")
    if not high > low:
        raise ValueError(f"the ceiling ({high}) must be above the floor ({low})")
    points = np.asarray(points, dtype=np.float64)
    if mapping == "linear":
        return np.clip((points - low) / (high - low), 0.0, 1.0) * 100.0
    centre = (low + high) / 2.0
    # logistic(x) = 0.95 when x = ln(19): scale the half-range onto it
    slope = np.log(19.0) / ((high - low) / 2.0)
    return 100.0 / (1.0 + np.exp(-slope * (points - centre)))


BLEND_COMPONENTS = ("fit", "engagement", "model")


def blend_shares(weights, has_model):
    """The share of each score component in a lead's score: the blend's one definition.

    A component counts when its weight is positive; the model counts only for a
    lead with a usable model (a lead without one blends the other components).
    The shares are the weights over the total of the weights that count.

    The shares are exact fractions: the score multiplies each component by the
    share as a float, the explanation shows it as a rounded percentage of the
    exact ratio (a 23/40 share is 58 %, not 57 % as the float 0.575 would round).

    :param weights: dict name -> non-negative weight, the names among :data:`BLEND_COMPONENTS`
    :param has_model: whether the lead has a usable model
    :return: dict name -> :class:`fractions.Fraction`, the components that count, in
        :data:`BLEND_COMPONENTS` order; they sum to 1
    """
    used = [name for name in BLEND_COMPONENTS if (has_model or name != "model") and weights.get(name, 0) > 0]
    if not used:
        raise ValueError("no score component has a positive weight")
    total = Fraction(float(sum(weights[name] for name in used)))
    return {name: Fraction(weights[name]) / total for name in used}


def blend(components, shares):
    """Weighted mean of 0-100 score components.

    :param components: dict name -> array (n,) in [0, 100]
    :param shares: dict name -> share, as :func:`blend_shares` gives them
    :return: float array (n,) in [0, 100]
    """
    result = None
    for name, share in shares.items():
        part = np.asarray(components[name], dtype=np.float64) * float(share)
        result = part if result is None else result + part
    return result


def round_score(values):
    """Round 0-100 floats to the stored integer score (half up, clipped)."""
    return np.clip(np.floor(np.asarray(values, dtype=np.float64) + 0.5), 0, 100).astype(np.int64)


def cut_tiers(scores, thresholds, tier_ids):
    """Give each score the tier whose minimum is the highest one not above it.

    :param scores: array (n,) of 0-100 scores
    :param thresholds: array (k,) of tier minimum scores, any order, lowest 0
    :param tier_ids: array (k,) of the tiers' ids, aligned with ``thresholds``
    :return: int64 array (n,) of tier ids (0 where there are no tiers)
    """
    scores = np.asarray(scores, dtype=np.float64)
    if len(thresholds) == 0:
        return np.zeros(scores.shape, dtype=np.int64)
    thresholds = np.asarray(thresholds, dtype=np.float64)
    tier_ids = np.asarray(tier_ids, dtype=np.int64)
    order = np.argsort(thresholds, kind="stable")
    position = np.searchsorted(thresholds[order], scores, side="right") - 1
    return tier_ids[order][np.clip(position, 0, len(order) - 1)]


def check_thresholds(thresholds):
    """Check that tier minimums neither overlap nor leave a gap.

    Tiers are half-open ranges [min, next min): they can only leave a gap below
    the lowest one, and only overlap when two share a minimum.

    :return: None when the tiers are fine, else ``(problem, values)``: ``"range"``
        (values: the minimums outside 0-100), ``"gap"`` (the lowest minimum) or
        ``"overlap"`` (the minimums shared by several tiers). The caller words it.
    """
    values = sorted(thresholds)
    if not values:
        return None
    outside = [value for value in values if value < 0 or value > 100]
    if outside:
        return "range", outside
    if values[0] != 0:
        return "gap", [values[0]]
    duplicates = sorted({value for value, following in pairwise(values) if value == following})
    if duplicates:
        return "overlap", duplicates
    return None


def check_tier_order(thresholds):
    """Find the first tier ranked above a tier that starts at least as high.

    :param thresholds: tier minimum scores in the tiers' rank order, best tier first
    :return: the position in ``thresholds`` of that tier, or None when the
        minimums decrease with the rank
    """
    for position, (minimum, following) in enumerate(pairwise(thresholds)):
        if minimum <= following:
            return position
    return None


@dataclass(frozen=True)
class ScoreResult:
    """Scores of one chunk of leads, aligned with the input rows."""

    fit_points: np.ndarray  # float (n,)
    fit_score: np.ndarray  # int (n,) 0-100
    score: np.ndarray  # int (n,) 0-100
    engagement_score: np.ndarray  # int (n,) 0-100
    tier_id: np.ndarray  # int (n,), 0 = no tier
    model_score: np.ndarray  # int (n,) 0-100, -1 where the lead has no model
    blended: np.ndarray = None  # float (n,) 0-100, the score before it is rounded


@dataclass(frozen=True, eq=False)
class ScoringParams:
    """How leads are scored: the settings of the fit rules, the blend and the tiers, read once per pass.

    * ``points``: (n_rules,) points per rule;
    * ``tier_sets``: tuple of (thresholds, tier_ids) pairs (leads of different
      companies may use different tiers; see ``group_index`` in :func:`score_leads`);
    * ``mapping``, ``low``, ``high``: how fit points map to the 0-100 fit score (see :func:`points_to_score`);
    * ``weights``: blend weights by component (see :func:`blend_shares`).
    """

    points: np.ndarray
    tier_sets: tuple
    mapping: str = "linear"
    low: float = 0.0
    high: float = 100.0
    weights: dict = field(default_factory=lambda: {"fit": 1.0})


def score_leads(params, matches, group_index, engagement=None, model=None):
    """Score a chunk of leads end to end: points, fit score, blended score, tier.

    :param params: the :class:`ScoringParams`
    :param matches: (n_leads, n_rules) rule matches
    :param group_index: (n_leads,) index into ``params.tier_sets`` of each lead's tier set
    :param engagement: (n_leads,) 0-100 engagement scores (see ``behaviour``),
        or None: zero for every lead
    :param model: (n_leads,) 0-100 model scores (100 x the predicted probability),
        NaN for the leads without a model (their score blends fit and engagement
        only), or None: no lead has a model
    """
    fit_points = rule_points(matches, params.points)
    fit = points_to_score(fit_points, params.mapping, params.low, params.high)
    engagement = np.zeros(len(fit)) if engagement is None else np.asarray(engagement, dtype=np.float64)
    blended = blend({"fit": fit, "engagement": engagement}, blend_shares(params.weights, has_model=False))
    model = np.full(len(fit), np.nan) if model is None else np.asarray(model, dtype=np.float64)
    with_model = ~np.isnan(model)
    if with_model.any():
        blended[with_model] = blend(
            {"fit": fit[with_model], "engagement": engagement[with_model], "model": model[with_model]},
            blend_shares(params.weights, has_model=True))
    score = round_score(blended)
    tiers = np.zeros(score.shape, dtype=np.int64)
    group_index = np.asarray(group_index, dtype=np.int64)
    for index, (thresholds, tier_ids) in enumerate(params.tier_sets):
        in_group = group_index == index
        if in_group.any():
            tiers[in_group] = cut_tiers(score[in_group], thresholds, tier_ids)
    return ScoreResult(fit_points=fit_points, fit_score=round_score(fit), score=score,
                       engagement_score=round_score(engagement), tier_id=tiers,
                       model_score=np.where(with_model, round_score(np.nan_to_num(model)), -1), blended=blended)


# how far inside its rounding interval an engagement is kept by :func:`hold_seconds` (0-100 scale): the
# score's blend is a sum of float products, recomputed here by another sum
HOLD_MARGIN = 1e-6


def hold_seconds(params, result, totals, swing, half_life, ceiling, with_model):
    """How long each lead's scores hold as its engagement decays, no event coming: seconds before
    which neither its rounded engagement nor its rounded score can change (``inf``: never).

    The fit score does not move with time, the model reads the rounded engagement, and the tier and
    the classes follow the rounded scores: the lead's stored values hold while its decayed total stays
    within the interval of totals that give the same rounded engagement and score. However the signs
    and half-lives of its rows mix, the total moves in ``t`` days by at most ``swing * (1 - 0.5 **
    (t / half_life))`` (see ``stages.EngagementRows.decay_bounds``): the hold is the time that bound
    takes to reach the nearest end of the interval. It errs early, never late.

    :param params: the :class:`ScoringParams` the scores were computed with
    :param result: the :class:`ScoreResult` of the leads, ``blended`` included
    :param totals: (n,) their decayed engagement points now, as :func:`behaviour.engagement_score` reads them
    :param swing: (n,) the absolute points now of their rows that decay; ``half_life``: (n,) days, the
        shortest half-life among those rows (inf for none)
    :param ceiling: the engagement points that make 100
    :param with_model: (n,) bool, the leads blended with a model score
    :return: (n,) float seconds, 0 for a lead on the edge of its interval
    """
    totals = np.asarray(totals, dtype=np.float64)
    engagement = np.clip(totals / ceiling, 0.0, 1.0) * 100.0
    rounded = np.floor(engagement + 0.5)
    low, high = rounded - 0.5, rounded + 0.5
    shares = [float(blend_shares(params.weights, has_model).get("engagement", 0)) for has_model in (False, True)]
    share = np.where(np.asarray(with_model, dtype=bool), shares[1], shares[0])
    weighed = share > 0
    if weighed.any():
        # the engagement at which the score's blend reaches the ends of the score's rounding interval
        score = np.asarray(result.score, dtype=np.float64)
        rest = np.asarray(result.blended, dtype=np.float64) - share * engagement
        with np.errstate(divide="ignore", invalid="ignore"):
            low = np.where(weighed, np.maximum(low, (score - 0.5 - rest) / share), low)
            high = np.where(weighed, np.minimum(high, (score + 0.5 - rest) / share), high)
    # in points; an end the clipped engagement cannot cross (below 0, above 100) is none
    low_points = np.where(low <= 0.0, -np.inf, (low + HOLD_MARGIN) * ceiling / 100.0)
    high_points = np.where(high > 100.0, np.inf, (high - HOLD_MARGIN) * ceiling / 100.0)
    room = np.minimum(totals - low_points, high_points - totals)
    swing = np.asarray(swing, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        reach = np.where(swing > 0, room / swing, np.inf)
        days = -np.asarray(half_life, dtype=np.float64) * np.log2(1.0 - np.minimum(reach, 1.0))
    return np.where(swing <= 0, np.inf, np.where(room <= 0, 0.0, np.where(reach >= 1.0, np.inf, days * 86400.0)))


def first_id_span(target, id_range, count):
    """Ids to take in the first chunk of a pass so that it holds about ``target``
    of the ``count`` leads spread over ``id_range`` ids."""
    if count <= 0:
        return max(id_range, 1)
    return max(int(target * id_range / count), 1)


def next_id_span(span, target, found, max_growth=4.0):
    """Ids to take in the next chunk, given that the last ``span`` ids held ``found``
    leads: about ``target`` leads if the density holds, growing at most
    ``max_growth`` times at once so that a sparse stretch cannot make a huge chunk.
    """
    if found <= 0:
        return int(span * max_growth)
    return max(int(min(span * max_growth, span * target / found)), 1)
