import dataclasses

import numpy as np
import pytest
from engine import behaviour, scoring
from engine.stages import (
    PROBABILITY_STEPS,
    EngagementRows,
    FieldChanges,
    LeadState,
    ScoreChanges,
    ScoreUpdate,
    TrackingCells,
)

# id, company, fit, score, tier, dirty, score line, engagement, model score, model probability
STATE = np.array([
    [11, 1, 40, 50, 7, 0, 101, 20, -1, -1],
    [12, 0, -1, -1, 0, 1, 0, -1, -1, -1],
    [13, 2, 80, 90, 9, 0, 103, 60, 70, 7000],
])


def test_lead_state_names_the_columns_of_the_matrix():
    state = LeadState.from_matrix(STATE)
    assert len(state) == 3
    assert state.column_names() == ("id", "company_id", "fit_score", "score", "tier_id", "score_dirty",
                                    "score_line_id", "engagement_score", "model_score", "model_probability")
    assert state.tier_id.tolist() == [7, 0, 9]
    assert state.score_dirty.dtype == bool and state.score_dirty.tolist() == [False, True, False]
    assert state.to_matrix().dtype == np.int64 and np.array_equal(state.to_matrix(), STATE)
    assert np.array_equal(state.stored_scores().to_matrix(), STATE[:, [2, 3, 4, 7, 8, 9]])


def test_columns_are_checked_and_frozen():
    with pytest.raises(ValueError, match="rows"):
        ScoreChanges(changed=[True], moved=[True, False], rescored=[True])
    with pytest.raises(ValueError, match="1-D"):
        ScoreChanges(changed=[[True]], moved=[True], rescored=[True])
    with pytest.raises(ValueError, match="10 columns"):
        LeadState.from_matrix(STATE[:, 1:])
    state = LeadState.from_matrix(STATE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.score = state.score + 1
    assert len(LeadState.from_matrix(np.zeros((0, 10)))) == 0
    assert LeadState.from_matrix(np.zeros((0, 10))).to_matrix().shape == (0, 10)


def test_score_update_is_the_result_as_stored():
    matches = np.array([[1, 0], [0, 1], [1, 1], [0, 0]], dtype=bool)
    probability = np.array([0.25, np.nan, 0.123456, 1.0])
    params = scoring.ScoringParams(np.array([30, 60]), (([0, 50], [1, 2]),), weights={"fit": 1, "model": 1})
    result = scoring.score_leads(params, matches, np.zeros(4), model=100.0 * probability)
    update = ScoreUpdate.from_result(result, probability)
    expected = np.column_stack([
        result.fit_score, result.score, result.tier_id, result.engagement_score, result.model_score,
        np.where(np.isnan(probability), -1, np.round(np.nan_to_num(probability) * PROBABILITY_STEPS)),
    ]).astype(np.int64)
    assert np.array_equal(update.to_matrix(), expected)
    assert update.model_probability.tolist() == [2500, -1, 1235, 10000]


def test_changes_follow_the_stored_scores():
    state = LeadState.from_matrix(STATE)
    old = state.stored_scores()
    new = ScoreUpdate.from_matrix(np.array([
        [40, 50, 7, 25, -1, -1],  # only the engagement moved
        [10, 10, 1, -1, -1, -1],  # first scores, a tier
        [80, 90, 8, 60, 70, 7000],  # only the tier moved
    ]))
    changes = new.changes_from(old)
    old_matrix, new_matrix = old.to_matrix(), new.to_matrix()
    assert changes.changed.tolist() == (old_matrix[:, :3] != new_matrix[:, :3]).any(axis=1).tolist()
    assert changes.changed.tolist() == [False, True, True]
    assert changes.moved.tolist() == [False, True, True]
    assert changes.rescored.tolist() == (
        old_matrix[:, [0, 1, 3, 4, 5]] != new_matrix[:, [0, 1, 3, 4, 5]]).any(axis=1).tolist()
    assert changes.rescored.tolist() == [True, True, False]
    assert state.needs_lead_write(changes).tolist() == [False, True, True]
    assert state.take(changes.moved).id.tolist() == [12, 13]
    # a lead flagged dirty whose tier stays keeps its row as it is: the flag is not on it
    flagged = LeadState.from_matrix(np.where(np.arange(10) == 5, 1, STATE))
    assert flagged.score_dirty.tolist() == [True, True, True]
    assert flagged.needs_lead_write(changes).tolist() == [False, True, True]


def test_engagement_rows_decay_with_the_behaviour_rules():
    day = behaviour.SECONDS_PER_DAY
    rows = EngagementRows(lead_index=[0, 0, 2], type_index=[0, 1, 1], points=[10.0, 4.0, -2.0],
                          ref=[0.0, day, 3 * day], half_life=[2.0, 0.0, 1.0])
    now = 4 * day
    assert np.allclose(rows.decayed(now), [10 * 0.25, 4.0, -1.0])
    assert np.allclose(rows.lead_totals(now, 3), [6.5, 0.0, -1.0])
    assert rows.lead_index.dtype == np.int64 and rows.points.dtype == np.float64
    assert rows.to_matrix().dtype == np.float64 and rows.to_matrix()[:, 2].tolist() == [10.0, 4.0, -2.0]


def test_tracking_cells_put_end_to_end_keep_their_labels():
    tiers = TrackingCells(res_id=[1, 2], field_id=[5, 5], old_int=[0, 7], new_int=[7, 0], old_code=[0, 1],
                          new_code=[1, 0], labels=("Hot",))
    classes = TrackingCells(res_id=[3], field_id=[6], old_int=[0], new_int=[0], old_code=[1], new_code=[2],
                            labels=("Small", "Large"))
    cells = TrackingCells.concatenate(tiers, classes)
    assert cells.labels == ("Hot", "Small", "Large")
    assert cells.res_id.tolist() == [1, 2, 3]
    assert [cells.labels[code - 1] if code else "" for code in cells.new_code.tolist()] == ["Hot", "", "Large"]
    assert [cells.labels[code - 1] if code else "" for code in cells.old_code.tolist()] == ["", "Hot", "Small"]
    kept = cells.take(np.array([False, True, True]))
    assert kept.res_id.tolist() == [2, 3] and kept.labels == cells.labels
    assert len(TrackingCells.concatenate()) == 0


def test_score_field_changes_name_the_lead_fields_that_moved():
    state = LeadState.from_matrix(STATE)
    new = dataclasses.replace(state.stored_scores(), score=np.array([50, 20, 95]), tier_id=np.array([8, 3, 9]))
    changes = new.field_changes(state.id, state.stored_scores())
    rows = set(zip(changes.lead_id.tolist(), changes.field.tolist(), changes.old_value.tolist(),
                   changes.new_value.tolist(), strict=True))
    # a score not computed yet (-1) reads 0, as on the lead; the lead 11 kept its score
    assert rows == {(12, 'score', 0, 20), (13, 'score', 90, 95), (11, 'tier_id', 7, 8), (12, 'tier_id', 0, 3)}


def test_field_changes_keep_only_differences_and_net_them():
    classes = FieldChanges.of_field('class_ids', [1, 2, 3], [frozenset({4}), frozenset(), frozenset({5})],
                                    [frozenset({4}), frozenset({6}), frozenset()])
    assert classes.lead_id.tolist() == [2, 3]
    assert classes.new_value.tolist() == [frozenset({6}), frozenset()]
    later = FieldChanges.of_field('class_ids', [2, 3], [frozenset({6}), frozenset()],
                                  [frozenset(), frozenset({7})])
    stages = FieldChanges.of_field('lifecycle_stage', [1], ['mql'], [False])
    net = FieldChanges.concatenate(classes, stages, later).net()
    # the lead 2 is back to no class: no change; the lead 3 went {5} -> {} -> {7}
    assert list(zip(net.lead_id.tolist(), net.field.tolist(), net.old_value.tolist(), net.new_value.tolist(),
                    strict=True)) == [(3, 'class_ids', frozenset({5}), frozenset({7})),
                                      (1, 'lifecycle_stage', 'mql', False)]
    assert len(FieldChanges.concatenate()) == 0
