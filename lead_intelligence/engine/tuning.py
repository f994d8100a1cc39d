"""Tuning from results: points and tier cut-offs suggested by a company's own closed leads.

Pure numpy and scikit-learn, no Odoo import. The adapter reads the closed leads
of a period in chunks (won or lost, the fit rules they match, their behaviour per
event type decayed to their closing, their score and revenue) and hands them here
as one :class:`ClosedLeads`:

* :func:`indicator_stats`: for each rule (or event type), the leads it matched,
  their conversion against the base rate, and the lift;
* :func:`suggest_points`: an L2-regularised logistic regression of the outcome
  on the rule matches and the standardized behaviour; its coefficients, in points
  of the current points range (:func:`points_per_logit`), are the suggested
  points, with the margin of their 95 % interval (from the regression's standard
  errors) as a confidence;
* :func:`backtest_tiers`: each tier's share of leads, conversion and won revenue
  for given cut-offs; :func:`cutoffs_for_shares` and :func:`cutoffs_for_conversion`
  propose cut-offs for target shares or a minimum conversion per tier.

Cut-offs are tier minimum scores, best tier first, the last one 0 (as the tiers
are kept). Every function is deterministic: the regression's solver (lbfgs) has
no random state.
"""

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from .arrays import Columns

SCORE_BINS = 101  # scores 0..100
Z_95 = 1.959963984540054  # two-sided 95 % normal quantile
MIN_SUPPORT = 30  # leads behind a suggestion below which its confidence is low whatever the margin
CONFIDENCE_MARGINS = (0.1, 0.3)  # margin / points range at most: high, at most: medium, above: low
# a points range maps to a 0-100 score; taken as the log-odds from 5 % to 95 %: logit(0.95) - logit(0.05)
LOGIT_SPAN = 2.0 * np.log(19.0)


@dataclass(frozen=True, eq=False)
class ClosedLeads:
    """The closed leads a suggestion learns from.

    * ``won``: (n,) bool, won (True) or lost;
    * ``matches``: (n, n_rules) bool, the fit rules each lead matches;
    * ``behaviour``: (n, n_types) float64, the units of each event type, decayed to the lead's closing;
    * ``score``: (n,) int64, the lead's score (-1: never scored);
    * ``revenue``: (n,) float64, its expected revenue.
    """

    won: np.ndarray
    matches: np.ndarray
    behaviour: np.ndarray
    score: np.ndarray
    revenue: np.ndarray

    def __post_init__(self):
        n = len(self.won)
        if self.matches.ndim != 2 or self.behaviour.ndim != 2:
            raise ValueError("matches and behaviour must be 2-D arrays")
        for name in ("matches", "behaviour", "score", "revenue"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} rows, won has {n}")

    def __len__(self):
        return len(self.won)

    @classmethod
    def concatenate(cls, parts, n_rules, n_types):
        """One :class:`ClosedLeads` of consecutive chunks (none: an empty one of that width)."""
        if not parts:
            return cls(won=np.zeros(0, dtype=bool), matches=np.zeros((0, n_rules), dtype=bool),
                       behaviour=np.zeros((0, n_types)), score=np.zeros(0, dtype=np.int64), revenue=np.zeros(0))
        return cls(**{name: np.concatenate([getattr(part, name) for part in parts])
                      for name in ("won", "matches", "behaviour", "score", "revenue")})


@dataclass(frozen=True, eq=False)
class IndicatorStats(Columns):
    """Conversion of the leads behind each indicator (a rule matched, an event type seen); each column (k,).

    * ``matched``: int64, leads with the indicator; ``won``: int64, those won;
    * ``conversion``: float64, won / matched (0 when none matched);
    * ``lift``: float64, conversion / base rate (0 when none matched or no lead was won);
    * ``never``: bool, no lead had the indicator; ``below_base``: bool, the ones that had it convert below the base.
    """

    _DTYPES = {"conversion": np.float64, "lift": np.float64, "never": bool, "below_base": bool}

    matched: np.ndarray
    won: np.ndarray
    conversion: np.ndarray
    lift: np.ndarray
    never: np.ndarray
    below_base: np.ndarray


@dataclass(frozen=True, eq=False)
class Suggestion(Columns):
    """Suggested points of each rule or event type; each column (k,) float64.

    * ``points``: the suggested points (per match for a rule, per unit for an event type);
    * ``margin``: half the width of their 95 % interval, in points;
    * ``coefficient``: the regression's log-odds per match or unit.
    """

    _DTYPES = {"points": np.float64, "margin": np.float64, "coefficient": np.float64}

    points: np.ndarray
    margin: np.ndarray
    coefficient: np.ndarray


@dataclass(frozen=True, eq=False)
class TierBacktest(Columns):
    """Each tier's figures for a set of cut-offs, best tier first; each column (k,).

    * ``leads``, ``won``: int64; ``share``: float64, of the leads scored;
    * ``conversion``: float64, won / leads (0 for an empty tier); ``won_revenue``: float64.
    """

    _DTYPES = {"share": np.float64, "conversion": np.float64, "won_revenue": np.float64}

    leads: np.ndarray
    won: np.ndarray
    share: np.ndarray
    conversion: np.ndarray
    won_revenue: np.ndarray


@dataclass(frozen=True, eq=False)
class ScoreHistogram(Columns):
    """The scored closed leads by score 0-100; each column (101,): ``leads``, ``won`` int64, ``won_revenue``."""

    _DTYPES = {"won_revenue": np.float64}

    leads: np.ndarray
    won: np.ndarray
    won_revenue: np.ndarray

    @classmethod
    def from_groups(cls, score, won, leads, revenue):
        """The histogram of groups of closed leads, the never-scored ones (score -1) left out.

        :param score: (g,) int, the group's score; ``won``: (g,) bool, whether its leads were won
        :param leads: (g,) int, its leads; ``revenue``: (g,) float, their revenue
        """
        score, won = np.asarray(score, dtype=np.int64), np.asarray(won, dtype=bool)
        leads, revenue = np.asarray(leads, dtype=np.float64), np.asarray(revenue, dtype=np.float64)
        scored = score >= 0
        score, won = np.clip(score[scored], 0, SCORE_BINS - 1), won[scored]
        leads, revenue = leads[scored], revenue[scored]
        return cls(
            leads=np.bincount(score, weights=leads, minlength=SCORE_BINS).astype(np.int64),
            won=np.bincount(score[won], weights=leads[won], minlength=SCORE_BINS).astype(np.int64),
            won_revenue=np.bincount(score[won], weights=revenue[won], minlength=SCORE_BINS),
        )

    @classmethod
    def from_leads(cls, closed):
        """The histogram of ``closed`` (a :class:`ClosedLeads`), its never-scored leads left out."""
        return cls.from_groups(closed.score, closed.won, np.ones(len(closed)), closed.revenue)

    def suffix(self, name):
        """(102,) the sum of column ``name`` over the scores at or above each score, 0 above 100."""
        return np.concatenate([np.cumsum(getattr(self, name)[::-1])[::-1], [0]])


def base_rate(won):
    """Share of ``won`` (n,) bool that is won; 0 for no lead."""
    return float(np.mean(won)) if len(won) else 0.0


def indicator_stats(won, indicators):
    """Leads, conversion and lift behind each indicator.

    :param won: (n,) bool
    :param indicators: (n, k) bool, True where the lead has the indicator
    :rtype: IndicatorStats
    """
    won = np.asarray(won, dtype=bool)
    indicators = np.asarray(indicators, dtype=bool)
    matched = indicators.sum(axis=0).astype(np.int64)
    won_matched = indicators[won].sum(axis=0).astype(np.int64)
    conversion = np.divide(won_matched, matched, out=np.zeros(len(matched)), where=matched > 0)
    base = base_rate(won)
    lift = conversion / base if base > 0 else np.zeros(len(matched))
    return IndicatorStats(matched=matched, won=won_matched, conversion=conversion, lift=lift,
                          never=matched == 0, below_base=(matched > 0) & (conversion < base))


def points_per_logit(points_range):
    """Points worth one unit of log-odds, for a score that goes from 0 to 100 over ``points_range`` points.

    A 0-100 score is read as a probability from about 5 % to 95 %, 2 ln 19 units of
    log-odds: a fit mapping from 0 to 100 points gives 17 points per unit, and a rule
    that quadruples the odds of winning (ln 4) is worth 24 points.
    """
    if points_range <= 0:
        raise ValueError(f"the points range must be positive, not {points_range}")
    return float(points_range) / LOGIT_SPAN


def suggest_points(closed, rule_points, type_points, rule_scale, type_scale, max_points, regularisation=1.0):
    """Points suggested for each rule and event type by a logistic regression on the closed leads.

    The outcome is regressed on the rule matches (0/1) and the behaviour,
    standardized so that the L2 penalty weighs every event type alike; a
    behaviour coefficient is brought back to log-odds per unit. Coefficients
    become points at ``rule_scale`` and ``type_scale`` points per unit of
    log-odds (:func:`points_per_logit` of the fit points range and of the
    engagement ceiling): the points range of the current configuration. The
    margin is the half-width of the 95 % interval of each coefficient (from the
    inverse of the penalised Hessian), on the same scale. A rule no lead matched
    (or every lead did), an event type no lead had: no evidence, the current
    points stay.

    :param closed: :class:`ClosedLeads`, both outcomes present
    :param rule_points: (n_rules,) current points of the rules
    :param type_points: (n_types,) current points per unit of the event types
    :param rule_scale, type_scale: points per unit of log-odds, of the rules and of the event types
    :param max_points: suggested points are clipped to [-max_points, max_points]
    :param regularisation: inverse strength of the L2 penalty (scikit-learn's ``C``)
    :return: (rules, types), two :class:`Suggestion`
    """
    won = np.asarray(closed.won, dtype=bool)
    if won.all() or not won.any():
        raise ValueError("suggestions need both won and lost leads")
    n_rules = closed.matches.shape[1]
    if not n_rules + closed.behaviour.shape[1]:
        empty = Suggestion(points=[], margin=[], coefficient=[])
        return empty, empty
    behaviour = np.asarray(closed.behaviour, dtype=np.float64)
    spread = behaviour.std(axis=0)
    seen = spread > 0
    scale = np.where(seen, spread, 1.0)
    features = np.hstack([closed.matches.astype(np.float64), (behaviour - behaviour.mean(axis=0)) / scale])
    # one BLAS thread: a worker shares its cores with the other workers, and BLAS threads fighting
    # over them made this five times slower (3.8 s against 0.7 s for 100,000 leads on 2 cores)
    with threadpool_limits(limits=1, user_api="blas"):
        regression = LogisticRegression(C=regularisation, max_iter=500).fit(features, won)
        error = _standard_errors(features, regression, regularisation)
    per_unit = np.concatenate([np.ones(n_rules), 1.0 / scale])
    coefficient, error = regression.coef_[0] * per_unit, error * per_unit
    varies = np.concatenate([closed.matches.any(axis=0) & ~closed.matches.all(axis=0), seen])
    rules = _scaled(coefficient[:n_rules], error[:n_rules], varies[:n_rules], rule_points, rule_scale, max_points)
    types = _scaled(coefficient[n_rules:], error[n_rules:], varies[n_rules:], type_points, type_scale, max_points)
    return rules, types


def _standard_errors(features, regression, regularisation):
    """(k,) standard errors of the coefficients of ``regression`` fitted on ``features`` (n, k)."""
    probability = regression.predict_proba(features)[:, 1]
    weight = probability * (1.0 - probability)
    design = np.hstack([features, np.ones((len(features), 1))])
    hessian = (design * weight[:, None]).T @ design
    hessian[:-1, :-1] += np.eye(features.shape[1]) / regularisation  # the penalty, not on the intercept
    covariance = np.linalg.pinv(hessian)
    return np.sqrt(np.clip(np.diag(covariance)[:-1], 0.0, None))


def _scaled(coefficient, error, varies, current, points_per_unit, max_points):
    """:class:`Suggestion` of ``coefficient`` (k,) with standard errors ``error``, at ``points_per_unit``.

    An indicator that does not vary (no lead or every lead has it) says nothing: it keeps its
    current points (``current``, (k,)), with an infinite margin.
    """
    current = np.asarray(current, dtype=np.float64)
    return Suggestion(
        points=np.where(varies, np.clip(coefficient * points_per_unit, -max_points, max_points), current),
        margin=np.where(varies, Z_95 * error * points_per_unit, np.inf),
        coefficient=np.where(varies, coefficient, 0.0))


def confidence(suggestion, support, points_range):
    """``'high'``, ``'medium'`` or ``'low'`` for each suggested points value.

    Low when fewer than :data:`MIN_SUPPORT` leads are behind it; otherwise by
    its margin against ``points_range`` (the largest current or suggested
    points of its kind), see :data:`CONFIDENCE_MARGINS`.

    :param suggestion: :class:`Suggestion` (k,)
    :param support: (k,) leads behind each value (the leads that matched the rule, that had the behaviour)
    :return: (k,) array of str
    """
    relative = suggestion.margin / max(float(points_range), 1e-9)
    high, medium = CONFIDENCE_MARGINS
    level = np.where(relative <= high, "high", np.where(relative <= medium, "medium", "low"))
    return np.where(np.asarray(support) < MIN_SUPPORT, "low", level)


def check_cutoffs(cutoffs):
    """Raise ValueError unless ``cutoffs`` are strictly decreasing integer scores ending with 0."""
    cutoffs = np.asarray(cutoffs)
    if not len(cutoffs) or cutoffs[-1] != 0 or np.any(np.diff(cutoffs) >= 0) or cutoffs[0] > SCORE_BINS - 1:
        raise ValueError(f"cut-offs must decrease strictly from at most 100 down to 0, not {cutoffs.tolist()}")


def backtest_tiers(histogram, cutoffs):
    """Each tier's leads, share, conversion and won revenue had the tiers started at ``cutoffs``.

    :param histogram: :class:`ScoreHistogram`
    :param cutoffs: (k,) tier minimum scores, best tier first, the last 0
    :rtype: TierBacktest
    """
    check_cutoffs(cutoffs)
    bounds = np.concatenate([[SCORE_BINS], np.asarray(cutoffs, dtype=np.int64)])
    sums = {name: histogram.suffix(name) for name in ("leads", "won", "won_revenue")}
    leads, won, revenue = (sums[name][bounds[1:]] - sums[name][bounds[:-1]] for name in ("leads", "won", "won_revenue"))
    total = leads.sum()
    return TierBacktest(
        leads=leads, won=won, share=leads / total if total else np.zeros(len(leads)),
        conversion=np.divide(won, leads, out=np.zeros(len(leads)), where=leads > 0), won_revenue=revenue)


def cutoffs_for_shares(histogram, shares):
    """Cut-offs giving each tier, best first, about the share of the scored leads asked.

    Top down, each cut-off is the score whose leads at or above it come closest
    to the tier's share plus those of the better tiers, below the cut-off of the
    tier above and leaving a score for each tier below (the last starts at 0 and
    takes the rest). Ties of scores make the shares approximate.

    :param histogram: :class:`ScoreHistogram`
    :param shares: (k,) target shares, best tier first; the last tier's is what is left
    :return: (k,) int64 cut-offs
    """
    shares = np.asarray(shares, dtype=np.float64)
    if np.any(shares < 0) or shares[:-1].sum() > 1.0 + 1e-9:
        raise ValueError(f"shares must be positive and add up to at most 1, not {shares.tolist()}")
    above = histogram.suffix("leads")[:SCORE_BINS] / max(int(histogram.leads.sum()), 1)
    targets = np.cumsum(shares)
    k = len(shares)
    cutoffs = np.zeros(k, dtype=np.int64)
    upper = SCORE_BINS
    for index in range(k - 1):
        candidates = np.arange(k - 1 - index, upper)
        cutoffs[index] = upper = candidates[np.argmin(np.abs(above[candidates] - targets[index]))]
    return cutoffs


def cutoffs_for_conversion(histogram, conversions):
    """Cut-offs giving each tier, best first, at least the conversion asked, as wide as possible.

    Top down, each cut-off is the lowest score at which the leads between it and
    the cut-off of the tier above convert at least as asked, leaving a score for
    each tier below. A tier no range reaches gets one score, just below the tier
    above, and is reported as not met.

    :param histogram: :class:`ScoreHistogram`
    :param conversions: (k,) minimum conversions, best tier first; the last tier's is ignored
    :return: (cut-offs (k,) int64, met (k,) bool; the last tier always met)
    """
    conversions = np.asarray(conversions, dtype=np.float64)
    leads, won = histogram.suffix("leads"), histogram.suffix("won")
    k = len(conversions)
    cutoffs = np.zeros(k, dtype=np.int64)
    met = np.ones(k, dtype=bool)
    upper = SCORE_BINS
    for index in range(k - 1):
        candidates = np.arange(k - 1 - index, upper)
        count = leads[candidates] - leads[upper]
        rate = np.divide(won[candidates] - won[upper], count, out=np.zeros(len(candidates)), where=count > 0)
        reached = candidates[(count > 0) & (rate >= conversions[index])]
        met[index] = bool(len(reached))
        cutoffs[index] = upper = reached.min() if len(reached) else upper - 1
    return cutoffs, met
