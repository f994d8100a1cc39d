from fractions import Fraction

import numpy as np
import pytest
from engine import behaviour, scoring
from engine.stages import EngagementRows


def test_rule_points_sums_matched_rules_with_negative_points():
    matches = np.array([[1, 0, 1], [0, 0, 0], [1, 1, 1]], dtype=bool)
    points = np.array([20, 15, -5])
    np.testing.assert_allclose(scoring.rule_points(matches, points), [15, 0, 30])


def test_rule_points_rejects_misaligned_shapes():
    with pytest.raises(ValueError, match="does not fit"):
        scoring.rule_points(np.ones((2, 3)), np.ones(2))


def test_rule_points_without_rules_gives_zero():
    np.testing.assert_allclose(scoring.rule_points(np.zeros((4, 0)), np.zeros(0)), np.zeros(4))


def test_linear_mapping_clips_between_floor_and_ceiling():
    result = scoring.points_to_score([-30, 0, 25, 50, 80], "linear", 0, 50)
    np.testing.assert_allclose(result, [0, 0, 50, 100, 100])


def test_logistic_mapping_is_monotonic_centred_and_bounded():
    result = scoring.points_to_score([-1000, 0, 50, 100, 1000], "logistic", 0, 100)
    assert np.all(np.diff(result) >= 0)
    assert np.all(np.diff(result[1:4]) > 0)
    assert result[2] == pytest.approx(50)
    assert result[1] == pytest.approx(5, abs=0.01)
    assert result[3] == pytest.approx(95, abs=0.01)
    assert 0 <= result.min() and result.max() <= 100


@pytest.mark.parametrize(("mapping", "low", "high", "message"), [
    ("cubic", 0, 100, "unknown mapping"),
    ("linear", 50, 50, "must be above"),
    ("linear", 60, 10, "must be above"),
])
def test_mapping_rejects_bad_settings(mapping, low, high, message):
    with pytest.raises(ValueError, match=message):
        scoring.points_to_score([1.0], mapping, low, high)


def test_blend_is_a_weighted_mean_of_present_components():
    fit = np.array([100.0, 0.0])
    engagement = np.array([0.0, 50.0])
    shares = scoring.blend_shares({"fit": 3, "engagement": 1, "model": 5}, has_model=False)
    result = scoring.blend({"fit": fit, "engagement": engagement}, shares)
    np.testing.assert_allclose(result, [75.0, 12.5])


def test_blend_needs_a_positive_weight():
    with pytest.raises(ValueError, match="positive weight"):
        scoring.blend_shares({"fit": 0}, has_model=False)
    with pytest.raises(ValueError, match="positive weight"):
        scoring.blend_shares({"fit": 0, "engagement": 0, "model": 5}, has_model=False)


def test_blend_shares_drop_the_model_where_there_is_none():
    weights = {"fit": 60, "engagement": 40, "model": 50}
    assert scoring.blend_shares(weights, has_model=True) == {
        "fit": Fraction(60, 150), "engagement": Fraction(40, 150), "model": Fraction(50, 150)}
    assert scoring.blend_shares(weights, has_model=False) == {"fit": Fraction(60, 100), "engagement": Fraction(40, 100)}
    # a zero weight has no share; the order is the components' order, whatever the weights'
    assert list(scoring.blend_shares({"model": 1, "engagement": 0, "fit": 3}, has_model=True)) == ["fit", "model"]
    assert sum(scoring.blend_shares({"fit": 1, "engagement": 1, "model": 1}, has_model=True).values()) == 1


def test_blend_shares_are_exact():
    shares = scoring.blend_shares({"fit": 23, "engagement": 17}, has_model=False)
    # the float of a share is the weight over the total, as the score uses it
    assert float(shares["fit"]) == 23 / 40.0
    # a percentage rounds as the exact ratio: 57.5 % to 58 (half to even), where 100 * 0.575 gives 57
    assert round(100 * shares["fit"]) == round(100 * 23 / 40) == 58
    assert round(100 * float(shares["fit"])) == 57


def test_round_score_rounds_half_up_and_clips():
    np.testing.assert_array_equal(scoring.round_score([-3, 0.49, 0.5, 99.5, 140]), [0, 0, 1, 100, 100])


def test_cut_tiers_uses_highest_minimum_not_above_score():
    thresholds = [75, 0, 50, 25]
    tier_ids = [1, 4, 2, 3]
    scores = [0, 24, 25, 49, 50, 74, 75, 100]
    np.testing.assert_array_equal(scoring.cut_tiers(scores, thresholds, tier_ids), [4, 4, 3, 3, 2, 2, 1, 1])


def test_cut_tiers_without_tiers_gives_no_tier():
    np.testing.assert_array_equal(scoring.cut_tiers([10, 90], [], []), [0, 0])


@pytest.mark.parametrize(("thresholds", "expected"), [
    ([], None),
    ([0, 25, 50, 75], None),
    ([75, 0, 50, 25], None),
    ([10, 50], ("gap", [10])),
    ([0, 50, 50, 75, 75], ("overlap", [50, 75])),
    ([0, 120, -5], ("range", [-5, 120])),
])
def test_check_thresholds(thresholds, expected):
    assert scoring.check_thresholds(thresholds) == expected


@pytest.mark.parametrize(("thresholds", "expected"), [
    ([], None),
    ([0], None),
    ([75, 50, 25, 0], None),
    ([75, 90, 25, 0], 0),
    ([75, 50, 0, 25], 2),
    ([75, 50, 50, 0], 1),
])
def test_check_tier_order(thresholds, expected):
    assert scoring.check_tier_order(thresholds) == expected


def test_score_leads_end_to_end_with_two_tier_sets():
    matches = np.array([[1, 1], [1, 0], [0, 0], [1, 1]], dtype=bool)
    points = np.array([60, 30])
    tier_sets = [([0, 50], [11, 12]), ([0, 80], [21, 22])]
    params = scoring.ScoringParams(points, tier_sets, "linear", 0, 100)
    result = scoring.score_leads(params, matches, [0, 0, 0, 1])
    np.testing.assert_array_equal(result.fit_score, [90, 60, 0, 90])
    np.testing.assert_array_equal(result.score, [90, 60, 0, 90])
    np.testing.assert_array_equal(result.tier_id, [12, 12, 11, 22])


def test_scoring_is_vectorised_over_a_large_chunk():
    rng = np.random.default_rng(7)
    matches = rng.random((50_000, 30)) < 0.3
    points = rng.integers(-20, 30, size=30)
    result = scoring.score_leads(scoring.ScoringParams(points, (([0, 25, 50, 75], [4, 3, 2, 1]),)),
                                 matches, np.zeros(50_000))
    assert result.score.shape == (50_000,)
    expected = np.clip(np.floor(np.clip(matches.astype(float) @ points, 0, 100) + 0.5), 0, 100)
    np.testing.assert_array_equal(result.score, expected)


def test_unpack_matches_round_trips_across_words():
    rng = np.random.default_rng(3)
    matches = rng.random((500, 130)) < 0.5
    n_words = scoring.word_count(130)
    assert n_words == 3
    words = np.zeros((500, n_words), dtype=np.int64)
    for rule in range(130):
        word, bit = divmod(rule, scoring.RULES_PER_WORD)
        words[:, word] |= matches[:, rule].astype(np.int64) << bit
    np.testing.assert_array_equal(scoring.unpack_matches(words, 130), matches)


def test_unpack_matches_without_rules_or_leads():
    assert scoring.unpack_matches(np.zeros((4, 0), dtype=np.int64), 0).shape == (4, 0)
    assert scoring.unpack_matches(np.zeros((0, 1), dtype=np.int64), 12).shape == (0, 12)


def test_unpack_matches_refuses_too_few_words():
    with pytest.raises(ValueError, match="cannot hold"):
        scoring.unpack_matches(np.zeros((2, 1), dtype=np.int64), 63)


def test_pack_matches_is_the_inverse_of_unpack_across_words():
    rng = np.random.default_rng(5)
    matches = rng.random((300, 130)) < 0.5
    words = scoring.pack_matches(matches)
    assert words.shape == (300, 3) and words.dtype == np.int64
    np.testing.assert_array_equal(scoring.unpack_matches(words, 130), matches)
    # a lead matching every rule of a full word: 62 bits, still a positive 64-bit integer
    assert scoring.pack_matches(np.ones((1, 62), dtype=bool)).tolist() == [[2 ** 62 - 1]]


def test_pack_matches_without_rules_or_leads():
    assert scoring.pack_matches(np.zeros((4, 0), dtype=bool)).shape == (4, 0)
    assert scoring.pack_matches(np.zeros((0, 5), dtype=bool)).shape == (0, 1)


def test_first_id_span_aims_at_the_target_density():
    assert scoring.first_id_span(20_000, 1_000_000, 340_000) == 58_823
    assert scoring.first_id_span(20_000, 500, 0) == 500
    assert scoring.first_id_span(10, 5, 100) == 1


def test_next_id_span_follows_the_density_with_bounded_growth():
    assert scoring.next_id_span(60_000, 20_000, 30_000) == 40_000
    assert scoring.next_id_span(60_000, 20_000, 1_000) == 240_000, 'sparse: grows at most 4 times'
    assert scoring.next_id_span(60_000, 20_000, 0) == 240_000
    assert scoring.next_id_span(1, 20_000, 5_000) == 4


def test_id_spans_cover_a_skewed_table_in_bounded_chunks():
    rng = np.random.default_rng(11)
    open_ids = np.sort(np.concatenate([rng.choice(200_000, 5_000, replace=False),
                                       200_000 + rng.choice(100_000, 60_000, replace=False)]))
    last, target, chunks = 0, 10_000, []
    span = scoring.first_id_span(target, int(open_ids[-1]), len(open_ids))
    while last < open_ids[-1]:
        upper = min(last + span, int(open_ids[-1]))
        in_range = open_ids[(open_ids > last) & (open_ids <= upper)][:2 * target]  # the adapter's LIMIT
        if len(in_range) == 2 * target:
            upper = int(in_range[-1])
        chunks.append(len(in_range))
        last, span = upper, scoring.next_id_span(span, target, len(in_range))
    assert sum(chunks) == len(open_ids)
    assert max(chunks) <= 2 * target
    assert len(chunks) < 3 * len(open_ids) / target, 'chunks stay close to the target'


def test_score_leads_blends_the_model_only_where_there_is_one():
    matches = np.array([[1], [1], [0]])
    weights = {"fit": 60, "engagement": 40, "model": 50}
    params = scoring.ScoringParams(np.array([60.0]), (([0, 50], [1, 2]),), weights=weights)
    result = scoring.score_leads(params, matches, np.zeros(3), engagement=np.array([20.0, 20.0, 0.0]),
                                 model=np.array([90.0, np.nan, 10.0]))
    # with a model: (60 * 60 + 40 * 20 + 50 * 90) / 150; without: (60 * 60 + 40 * 20) / 100
    assert result.score.tolist() == [59, 44, 3]
    assert result.model_score.tolist() == [90, -1, 10]
    assert result.tier_id.tolist() == [2, 1, 1]
    # no model at all: as before
    params = scoring.ScoringParams(np.array([60.0]), (([0], [1]),), weights=weights)
    assert scoring.score_leads(params, matches, np.zeros(3),
                               engagement=np.array([20.0, 20.0, 0.0])).score.tolist() == [44, 44, 0]


def test_blend_share_percentages_round_as_the_weight_over_the_total():
    for fit in range(101):
        for engagement in range(101 - fit):
            if fit + engagement:
                shares = scoring.blend_shares({"fit": fit, "engagement": engagement, "model": 30}, has_model=False)
                assert round(100 * shares.get("fit", 0)) == round(100 * fit / (fit + engagement))
                assert round(100 * shares.get("engagement", 0)) == round(100 * engagement / (fit + engagement))


@pytest.mark.parametrize("seed", range(6))
def test_hold_seconds_never_outlasts_the_scores_it_holds(seed):
    """Anywhere before a lead's hold, decay has moved neither its rounded engagement nor its score."""
    rng = np.random.default_rng(seed)
    n, ceiling = 400, 60.0
    counts = rng.integers(0, 5, n)
    lead_index = np.repeat(np.arange(n), counts)
    m = len(lead_index)
    rows = EngagementRows(
        lead_index=lead_index, type_index=np.zeros(m, dtype=np.int64),
        points=rng.choice([-1.0, 1.0], m, p=[0.2, 0.8]) * rng.uniform(0.5, 80.0, m),
        ref=rng.uniform(-30, 2, m) * 86400.0, half_life=rng.choice([0.0, 3.0, 7.0, 30.0, 90.0], m))
    matches = rng.random((n, 3)) < 0.5
    params = scoring.ScoringParams(points=np.array([20.0, 35.0, -10.0]), tier_sets=(),
                                   weights={"fit": rng.uniform(0, 2), "engagement": rng.uniform(0.1, 2),
                                            "model": rng.uniform(0, 2)})
    model = np.where(rng.random(n) < 0.5, rng.uniform(0, 100, n), np.nan)

    def at(now):
        totals = rows.lead_totals(now, n)
        return totals, scoring.score_leads(params, matches, np.zeros(n, dtype=np.int64),
                                           engagement=behaviour.engagement_score(totals, ceiling), model=model)

    totals, result = at(0.0)
    swing, half_life = rows.decay_bounds(0.0, n)
    hold = scoring.hold_seconds(params, result, totals, swing, half_life, ceiling, ~np.isnan(model))
    finite = np.isfinite(hold)
    assert finite.sum() > n // 4 and (hold[finite] > 0).sum() > n // 4  # a bound, not "always due"
    for share in (0.0, 0.25, 0.5, 0.9, 0.999, 1.0):
        # at the hold itself the value may just have changed: up to a hair before it
        later = np.where(finite, np.where(finite, hold, 0) * share - 1e-3, 400 * 86400.0).clip(0)
        for lead in range(n):
            _totals, moved = at(later[lead])
            assert moved.engagement_score[lead] == result.engagement_score[lead], (lead, later[lead], hold[lead])
            assert moved.score[lead] == result.score[lead], (lead, later[lead], hold[lead])


def test_hold_seconds_is_exact_for_one_decaying_row():
    """One row of positive points: the bound is the very time its rounded engagement drops."""
    rows = EngagementRows(lead_index=[0], type_index=[0], points=[50.0], ref=[0.0], half_life=[7.0])
    params = scoring.ScoringParams(points=np.zeros(0), tier_sets=(), weights={"engagement": 1.0})
    totals = rows.lead_totals(0.0, 1)
    result = scoring.score_leads(params, np.zeros((1, 0), dtype=bool), np.zeros(1, dtype=np.int64),
                                 engagement=behaviour.engagement_score(totals, 100.0))
    hold = scoring.hold_seconds(params, result, totals, *rows.decay_bounds(0.0, 1), 100.0, np.zeros(1, dtype=bool))
    # 50 points of 100 is an engagement of 50: it rounds to 49 below 49.5, after 7 * log2(50 / 49.5) days
    expected = 7 * np.log2(50 / 49.5) * 86400
    assert hold[0] == pytest.approx(expected, rel=1e-4)
    assert behaviour.engagement_score(rows.lead_totals(expected * 1.001, 1), 100.0).round()[0] == 49


def test_hold_seconds_of_a_lead_without_decay_is_forever():
    rows = EngagementRows(lead_index=[1], type_index=[0], points=[30.0], ref=[0.0], half_life=[0.0])
    params = scoring.ScoringParams(points=np.zeros(0), tier_sets=(), weights={"fit": 1.0, "engagement": 1.0})
    totals = rows.lead_totals(0.0, 2)
    result = scoring.score_leads(params, np.zeros((2, 0), dtype=bool), np.zeros(2, dtype=np.int64),
                                 engagement=behaviour.engagement_score(totals, 100.0))
    hold = scoring.hold_seconds(params, result, totals, *rows.decay_bounds(0.0, 2), 100.0, np.zeros(2, dtype=bool))
    assert np.isinf(hold).all()
