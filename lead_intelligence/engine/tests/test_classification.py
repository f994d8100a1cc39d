import numpy as np
from engine import classification
from engine.classification import NO_VALUE


def test_first_matching_rule_wins_per_dimension():
    # rules in priority order: dim 0 gives 5 then 6; dim 1 gives 7
    matches = np.array([
        [True, True, False],
        [False, True, True],
        [False, False, False],
    ])
    values = classification.first_match_values(matches, [0, 0, 1], [5, 6, 7], 3)
    assert values.tolist() == [[5, NO_VALUE, NO_VALUE], [6, 7, NO_VALUE], [NO_VALUE] * 3]


def test_first_match_is_vectorised():
    rng = np.random.default_rng(1)
    matches = rng.random((100_000, 50)) < 0.1
    dims = np.arange(50) % 7
    values = classification.first_match_values(matches, dims, np.arange(50), 7)
    lead = 123
    for dimension in range(7):
        rules = [r for r in range(50) if dims[r] == dimension and matches[lead, r]]
        assert values[lead, dimension] == (rules[0] if rules else NO_VALUE)


def test_all_matches_for_tags():
    assert classification.all_match_values([[True, True, True], [False, False, False]], [3, 1, 3]) == [[1, 3], []]


def test_company_size_takes_the_larger_measure_and_ignores_missing_ones():
    sizes = classification.company_size(
        [0, 10, 300, 5000, 10, np.nan], [0, 0, 0, 0, 2e8, 1e6], (50, 1000), (1e7, 1e8))
    assert sizes.tolist() == [NO_VALUE, 0, 1, 2, 2, 0]


def test_manual_values_never_change():
    changed = classification.changed_values([[1, 2], [3, 4]], [[1, 5], [6, 4]], [[False, True], [False, False]])
    assert changed.tolist() == [[False, False], [True, False]]
