import numpy as np
import pytest
from engine import classification
from engine.classification import NO_VALUE
from engine.stages import ScoreUpdate


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


def test_set_masks_compare_value_sets():
    # rules 0 and 2 give the same value 7; rule 1 gives 3
    matches = np.array([[True, False, True], [False, True, False], [False, False, False], [True, True, False]])
    rule_value = [7, 3, 7]
    # current sets: {7}, {3, 9}, {}, {3}
    new, current = classification.set_masks(matches, rule_value, [0, 1, 1, 3], [7, 3, 9, 3])
    assert (new != current).tolist() == [False, True, False, True]
    assert new[0] == current[0]
    # 9 is given by no rule: the set with it never equals a new one
    assert current[1] & (1 << classification.MAX_SET_BITS)


def test_set_masks_without_rules_or_with_too_many_values():
    new, current = classification.set_masks(np.zeros((2, 0), dtype=bool), [], [1], [5])
    assert new.tolist() == [0, 0]
    assert (new != current).tolist() == [False, True]
    many = list(range(classification.MAX_SET_BITS + 1))
    assert classification.set_masks(np.zeros((1, len(many)), dtype=bool), many, [], []) is None


def test_set_masks_agree_with_all_match_values():
    rng = np.random.default_rng(3)
    matches = rng.random((200, 12)) < 0.2
    rule_value = rng.integers(0, 6, 12)
    lead_index = rng.integers(0, 200, 150)
    values = rng.integers(0, 8, 150)
    new, current = classification.set_masks(matches, rule_value, lead_index, values)
    expected_new = classification.all_match_values(matches, rule_value)
    current_sets = [set() for _lead in range(200)]
    for lead, value in zip(lead_index.tolist(), values.tolist(), strict=True):
        current_sets[lead].add(value)
    assert (new != current).tolist() == [set(a) != b for a, b in zip(expected_new, current_sets, strict=True)]


def test_cell_codes_index_the_concatenated_labels():
    # dimension 0: industries 7 and 42 have labels; dimension 1: selection values 0, 1, 2
    keys = [np.array([7, 42]), np.arange(3)]
    labels = ['Retail', 'Energy', 'small', 'medium', 'large']
    dimensions = np.array([0, 0, 1, 1, 0])
    values = np.array([42, NO_VALUE, 2, 0, 7])
    codes = classification.cell_codes(dimensions, values, keys)
    assert codes.tolist() == [2, 0, 5, 3, 1]
    assert [labels[code - 1] if code else None for code in codes] == ['Energy', None, 'large', 'small', 'Retail']


def test_cell_codes_refuse_a_value_without_label():
    with pytest.raises(ValueError):
        classification.cell_codes([0], [5], [np.array([7, 42])])
    with pytest.raises(ValueError):
        classification.cell_codes([1], [9], [np.array([7]), np.arange(3)])


def _state(**columns):
    """A ClassificationState of two leads: no value, nothing set by hand, flagged dirty, unless given."""
    names = classification.ClassificationState.column_names()
    defaults = {name: [False, False] if name.endswith("_manual") else [NO_VALUE, NO_VALUE] for name in names}
    defaults.update(id=[10, 11], score_dirty=[True, True], employee_count=[0, 0], annual_revenue=[0, 0])
    return classification.ClassificationState(**{**defaults, **columns})


CONFIG = classification.ClassificationConfig(employee_thresholds=(50, 1000), revenue_thresholds=(1e7, 1e8))
JOB_LEVEL = classification.VALUE_DIMENSIONS.index("job_level")


def test_classify_values_first_match_and_measured_size():
    rules = classification.RuleValues(dimension=[JOB_LEVEL, JOB_LEVEL], value=[0, 3])
    state = _state(employee_count=[300, 0], industry=[7, NO_VALUE])
    final, changed = classification.classify_values(state, [[False, True], [True, True]], rules, CONFIG)
    assert final.job_level.tolist() == [3, 0]
    assert final.company_size.tolist() == [1, NO_VALUE]
    assert final.industry.tolist() == [7, NO_VALUE]  # no industry rule: the stored value stays
    names = classification.VALUE_DIMENSIONS
    assert [names[column] for column in np.flatnonzero(changed[0])] == ["company_size", "job_level"]
    assert [names[column] for column in np.flatnonzero(changed[1])] == ["job_level"]


def test_classify_values_sets_only_its_dimensions():
    """A pass that sets only some dimensions (those whose rules read the score, after scoring)
    leaves the others as they are, the company size measured from headcount included."""
    rules = classification.RuleValues(dimension=[JOB_LEVEL], value=[3])
    state = _state(employee_count=[300, 0])
    config = classification.ClassificationConfig((50, 1000), (1e7, 1e8), dimensions=frozenset({"job_level"}))
    final, changed = classification.classify_values(state, [[True], [False]], rules, config)
    assert (final.job_level.tolist(), final.company_size.tolist()) == ([3, NO_VALUE], [NO_VALUE, NO_VALUE])
    assert [classification.VALUE_DIMENSIONS[column] for column in np.flatnonzero(changed[0])] == ["job_level"]
    size_only = classification.ClassificationConfig((50, 1000), (1e7, 1e8), dimensions=frozenset({"company_size"}))
    final, _changed = classification.classify_values(state, [[True], [False]], rules, size_only)
    assert (final.job_level.tolist(), final.company_size.tolist()) == ([NO_VALUE, NO_VALUE], [1, NO_VALUE])


def test_classify_values_keeps_manual_and_stable_values():
    rules = classification.RuleValues(dimension=[JOB_LEVEL], value=[2])
    state = _state(job_level=[4, 4], job_level_manual=[True, False], score_dirty=[True, False])
    config = classification.ClassificationConfig((50, 1000), (1e7, 1e8), stable=frozenset({"job_level"}))
    final, changed = classification.classify_values(state, [[True], [True]], rules, config)
    assert final.job_level.tolist() == [4, 4] and not changed.any()
    final, changed = classification.classify_values(state, [[True], [True]], rules, CONFIG)
    assert final.job_level.tolist() == [4, 2]
    assert state.frozen("class", frozenset({"class"})).tolist() == [False, True]


def test_changed_cells_label_track_and_concatenate():
    names = classification.VALUE_DIMENSIONS
    old = classification.DimensionValues.from_matrix(np.full((2, len(names)), NO_VALUE))
    new_matrix = np.full((2, len(names)), NO_VALUE)
    new_matrix[0, names.index("industry")] = 5
    new_matrix[1, JOB_LEVEL] = 1
    new = classification.DimensionValues.from_matrix(new_matrix)
    cells = classification.ChangedCells.from_changes([10, 11], old, new, new_matrix != NO_VALUE)
    keys = [np.array([5]) if name == "industry" else np.arange(2) for name in names]
    labels = ["Retail", *[f"{name} {value}" for name in names[1:] for value in range(2)]]
    cells = cells.labelled(keys, labels)
    assert cells.lead_id.tolist() == [10, 11] and cells.new_value.tolist() == [5, 1]
    assert [cells.labels[code - 1] for code in cells.new_code.tolist()] == ["Retail", "job_level 1"]
    tracking = cells.tracking(np.arange(100, 100 + len(names)))
    assert tracking.field_id.tolist() == [100, 100 + JOB_LEVEL]
    assert tracking.new_int.tolist() == [5, 0] and tracking.old_int.tolist() == [0, 0]
    both = classification.ChangedCells.concatenate(cells, cells)
    assert len(both) == 4 and both.labels == cells.labels * 2
    assert [both.labels[code - 1] for code in both.new_code.tolist()] == ["Retail", "job_level 1"] * 2


def test_changed_cells_as_field_changes():
    cells = classification.ChangedCells(
        lead_id=[5, 6, 7], dimension=[0, 6, 6], old_value=[NO_VALUE, 1, NO_VALUE], new_value=[12, 2, 0],
        old_code=[0, 0, 0], new_code=[0, 0, 0])
    fields = [f'{name}_field' for name in classification.VALUE_DIMENSIONS]
    keys = [None] + [['a', 'b']] * 5 + [['cold', 'mql', 'sql', 'hot']]
    changes = cells.field_changes(fields, keys)
    assert changes.lead_id.tolist() == [5, 6, 7]
    assert changes.field.tolist() == ['industry_field', 'lifecycle_stage_field', 'lifecycle_stage_field']
    # no industry reads 0 (no record), no value of a selection False
    assert changes.old_value.tolist() == [0, 'mql', False]
    assert changes.new_value.tolist() == [12, 'sql', 'cold']


def _scores(**columns):
    names = ScoreUpdate.column_names()
    n = len(next(iter(columns.values())))
    return ScoreUpdate(**{name: np.asarray(columns.get(name, [0] * n), dtype=np.int64) for name in names})


def test_conditions_flipped_by_scores_crossing_a_threshold_only():
    # scores 34 -> 40 crosses ">= 40"; 50 -> 56 and 80 -> 74 cross none of >= 40 and = 90, 74 -> 75
    # crosses "> 74"; a score computed for the first time counts; engagement moves but is not read
    old = _scores(score=[34, 50, 80, 74, -1], engagement_score=[1, 2, 3, 4, 5])
    new = _scores(score=[40, 56, 76, 75, 10], engagement_score=[9, 9, 9, 9, 9])
    conditions = [("score", ">=", 40), ("score", "=", 90), ("score", ">", 74)]
    assert classification.conditions_flipped(old, new, conditions).tolist() == [True, False, False, True, True]
    # read some other way (a tier, a path through the row of scores): any change counts
    assert classification.conditions_flipped(old, new, [("engagement_score", None, None)]).all()
    assert not classification.conditions_flipped(old, new, []).any()


def test_conditions_flipped_operators_match_the_comparisons():
    rng = np.random.default_rng(3)
    old, new = _scores(score=rng.integers(-1, 101, 5000)), _scores(score=rng.integers(-1, 101, 5000))
    checks = {"<": lambda v, c: v < c, "<=": lambda v, c: v <= c, ">": lambda v, c: v > c,
              ">=": lambda v, c: v >= c, "=": lambda v, c: v == c, "!=": lambda v, c: v != c,
              "in": lambda v, c: v in c, "not in": lambda v, c: v not in c}
    for operator, check in checks.items():
        constant = (10, 50, 90) if "in" in operator else 50
        flipped = classification.conditions_flipped(old, new, [("score", operator, constant)])
        for row in range(0, 5000, 7):
            before, after = int(old.score[row]), int(new.score[row])
            if before < 0 or after < 0:
                expected = before != after
            else:
                expected = check(before, constant) != check(after, constant)
            assert flipped[row] == expected, (operator, before, after)
