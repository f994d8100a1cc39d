import numpy as np
import pytest
from engine import tuning


def generated_leads(n=20000, seed=7):
    """Closed leads where rule 0 doubles the odds of winning twice over (x4), rule 1 does nothing,
    rule 2 halves them, rule 3 never matches; event type 0 raises the odds with each unit, type 1 is noise."""
    rng = np.random.default_rng(seed)
    matches = np.column_stack([rng.random(n) < 0.3, rng.random(n) < 0.3, rng.random(n) < 0.3, np.zeros(n, bool)])
    behaviour = np.column_stack([rng.poisson(2.0, n), rng.poisson(2.0, n)]).astype(np.float64)
    logit = -1.5 + np.log(4.0) * matches[:, 0] - np.log(2.0) * matches[:, 2] + 0.4 * behaviour[:, 0]
    won = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
    noisy = logit + 1.0 + rng.normal(0.0, 0.7, n)  # a score that ranks the leads, with few ties
    score = np.clip(np.round(100.0 / (1.0 + np.exp(-noisy))), 0, 100).astype(np.int64)
    revenue = rng.integers(1, 10, n) * 1000.0
    return tuning.ClosedLeads(won=won, matches=matches, behaviour=behaviour, score=score, revenue=revenue)


def test_indicator_stats_conversion_lift_and_flags():
    won = np.array([1, 1, 0, 0, 0, 0, 1, 0], dtype=bool)
    indicators = np.array([[1, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0],
                           [0, 1, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]], dtype=bool)
    stats = tuning.indicator_stats(won, indicators)
    np.testing.assert_array_equal(stats.matched, [3, 3, 0])
    np.testing.assert_array_equal(stats.won, [2, 0, 0])
    np.testing.assert_allclose(stats.conversion, [2 / 3, 0, 0])
    np.testing.assert_allclose(stats.lift, [(2 / 3) / (3 / 8), 0, 0])
    np.testing.assert_array_equal(stats.never, [False, False, True])
    np.testing.assert_array_equal(stats.below_base, [False, True, False])


SCALE = tuning.points_per_logit(100)  # 17 points per unit of log-odds


def test_points_per_logit_maps_the_range_onto_5_to_95_percent():
    assert tuning.points_per_logit(100) * np.log(19) * 2 == pytest.approx(100)
    with pytest.raises(ValueError, match="positive"):
        tuning.points_per_logit(0)


def test_suggestions_follow_what_the_rules_truly_do():
    closed = generated_leads()
    rules, types = tuning.suggest_points(closed, [20, 20, 20, 20], [1.0, 1.0], SCALE, SCALE, max_points=100)
    strong, useless, harmful, never = rules.points
    assert strong == pytest.approx(np.log(4) * SCALE, abs=2.5)  # 23.5 points: clearly positive
    assert abs(useless) < 2
    assert harmful == pytest.approx(-np.log(2) * SCALE, abs=2.5)
    assert never == 20 and rules.margin[3] == np.inf  # no evidence: the points stay
    assert rules.margin[0] < 3 and rules.margin[1] < 3
    assert types.points[0] == pytest.approx(0.4 * SCALE, abs=0.7) and abs(types.points[1]) < 0.7
    np.testing.assert_allclose(rules.coefficient[:3], [np.log(4), 0, -np.log(2)], atol=0.1)
    np.testing.assert_allclose(types.coefficient, [0.4, 0], atol=0.04)


def test_suggestions_are_clipped():
    closed = generated_leads(5000)
    rules, _types = tuning.suggest_points(closed, [10, 10, 10, 10], [1.0, 1.0], 100, 1, max_points=50)
    assert rules.points[0] == 50


def test_suggestions_are_deterministic():
    closed = generated_leads(5000, seed=3)
    first = tuning.suggest_points(closed, [20] * 4, [1.0, 1.0], SCALE, SCALE, 100)
    second = tuning.suggest_points(closed, [20] * 4, [1.0, 1.0], SCALE, SCALE, 100)
    np.testing.assert_array_equal(first[0].points, second[0].points)
    np.testing.assert_array_equal(first[1].margin, second[1].margin)


def test_suggestions_need_both_outcomes():
    closed = generated_leads(200)
    only_won = tuning.ClosedLeads(won=np.ones(200, bool), matches=closed.matches, behaviour=closed.behaviour,
                                  score=closed.score, revenue=closed.revenue)
    with pytest.raises(ValueError, match="both won and lost"):
        tuning.suggest_points(only_won, [20] * 4, [1.0, 1.0], SCALE, SCALE, 100)


def test_suggestions_without_rules_or_event_types_are_empty():
    closed = generated_leads(200)
    no_features = tuning.ClosedLeads(won=closed.won, matches=np.zeros((200, 0), bool), behaviour=np.zeros((200, 0)),
                                     score=closed.score, revenue=closed.revenue)
    rules, types = tuning.suggest_points(no_features, [], [], SCALE, SCALE, 100)
    assert len(rules) == len(types) == 0


def test_confidence_from_margin_and_support():
    suggestion = tuning.Suggestion(points=[10, 10, 10, 10], margin=[1, 5, 20, 1], coefficient=[0, 0, 0, 0])
    levels = tuning.confidence(suggestion, support=[500, 500, 500, 10], points_range=20)
    assert levels.tolist() == ["high", "medium", "low", "low"]


def test_fewer_leads_give_wider_margins():
    small = tuning.suggest_points(generated_leads(1000), [20] * 4, [1.0, 1.0], SCALE, SCALE, 100)[0]
    large = tuning.suggest_points(generated_leads(20000), [20] * 4, [1.0, 1.0], SCALE, SCALE, 100)[0]
    assert np.all(small.margin[:3] > 2 * large.margin[:3])


def test_closed_leads_reject_misaligned_rows():
    with pytest.raises(ValueError, match="rows"):
        tuning.ClosedLeads(won=np.zeros(3, bool), matches=np.zeros((2, 1), bool), behaviour=np.zeros((3, 0)),
                           score=np.zeros(3), revenue=np.zeros(3))


def test_backtest_counts_each_tier():
    closed = tuning.ClosedLeads(
        won=np.array([1, 0, 1, 0, 0, 1], bool), matches=np.zeros((6, 0), bool), behaviour=np.zeros((6, 0)),
        score=np.array([90, 80, 60, 50, 10, -1]), revenue=np.array([100.0, 50, 30, 20, 10, 999]))
    histogram = tuning.ScoreHistogram.from_leads(closed)
    backtest = tuning.backtest_tiers(histogram, [80, 50, 0])
    np.testing.assert_array_equal(backtest.leads, [2, 2, 1])  # the never-scored lead left out
    np.testing.assert_array_equal(backtest.won, [1, 1, 0])
    np.testing.assert_allclose(backtest.share, [0.4, 0.4, 0.2])
    np.testing.assert_allclose(backtest.conversion, [0.5, 0.5, 0])
    np.testing.assert_allclose(backtest.won_revenue, [100, 30, 0])


def test_histogram_of_groups_counts_each_lead_of_a_group():
    histogram = tuning.ScoreHistogram.from_groups(
        score=[90, 90, 40, -1], won=[True, False, True, True], leads=[3, 2, 1, 7], revenue=[300.0, 50, 10, 999])
    assert (histogram.leads[90], histogram.won[90], histogram.won_revenue[90]) == (5, 3, 300)
    assert (histogram.leads[40], histogram.won[40]) == (1, 1)
    assert histogram.leads.sum() == 6  # the never-scored group left out


def test_backtest_rejects_bad_cutoffs():
    histogram = tuning.ScoreHistogram.from_leads(generated_leads(100))
    for cutoffs in ([80, 50, 10], [50, 80, 0], [101, 0], [50, 50, 0]):
        with pytest.raises(ValueError, match="cut-offs"):
            tuning.backtest_tiers(histogram, cutoffs)


def test_cutoffs_hit_target_shares():
    histogram = tuning.ScoreHistogram.from_leads(generated_leads())
    cutoffs = tuning.cutoffs_for_shares(histogram, [0.1, 0.2, 0.3, 0.4])
    assert cutoffs[-1] == 0 and np.all(np.diff(cutoffs) < 0)
    shares = tuning.backtest_tiers(histogram, cutoffs).share
    np.testing.assert_allclose(shares, [0.1, 0.2, 0.3, 0.4], atol=0.02)


def test_cutoffs_for_shares_leave_a_score_for_every_tier():
    leads = np.zeros(tuning.SCORE_BINS, dtype=np.int64)
    leads[100] = 10  # every lead at 100: the targets cannot be met, the tiers stay distinct
    histogram = tuning.ScoreHistogram(leads=leads, won=np.zeros_like(leads), won_revenue=np.zeros(tuning.SCORE_BINS))
    cutoffs = tuning.cutoffs_for_shares(histogram, [0.1, 0.2, 0.3, 0.4])
    tuning.check_cutoffs(cutoffs)


def test_cutoffs_for_conversion_reach_each_minimum():
    histogram = tuning.ScoreHistogram.from_leads(generated_leads())
    cutoffs, met = tuning.cutoffs_for_conversion(histogram, [0.8, 0.5, 0.3, 0.0])
    tuning.check_cutoffs(cutoffs)
    assert met.all()
    backtest = tuning.backtest_tiers(histogram, cutoffs)
    assert np.all(backtest.conversion[:3] >= [0.8, 0.5, 0.3])
    # as wide as possible: one score lower and tier A converts below its minimum
    wider = tuning.backtest_tiers(histogram, [cutoffs[0] - 1, *cutoffs[1:]])
    assert wider.conversion[0] < 0.8


def test_cutoffs_for_conversion_report_an_unreachable_minimum():
    histogram = tuning.ScoreHistogram.from_leads(generated_leads(2000))
    cutoffs, met = tuning.cutoffs_for_conversion(histogram, [1.01, 0.3, 0.0])
    assert met.tolist() == [False, True, True]
    assert cutoffs[0] == 100
    tuning.check_cutoffs(cutoffs)
