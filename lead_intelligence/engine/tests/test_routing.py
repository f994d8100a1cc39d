import time

import numpy as np
import pytest
from engine import routing


def _members(n=3, tiers=1, capacity=5, available=None, skills=None, open_leads=None):
    return routing.Members(
        ids=np.arange(1, n + 1) * 10,
        skills=skills if skills is not None else (np.zeros((n, 0), dtype=bool),),
        available=np.ones(n, dtype=bool) if available is None else np.asarray(available),
        capacity=np.full((n, tiers), capacity) if np.isscalar(capacity) else np.asarray(capacity),
        open_leads=np.zeros((n, tiers), dtype=int) if open_leads is None else np.asarray(open_leads),
    )


def _assign(members, n_leads, scores=None, rule=0, tier=0, values=None, rule_members=None, valid=True,
            round_robin=False, **kwargs):
    m = len(members.ids)
    return routing.assign(
        scores=np.full(n_leads, 50) if scores is None else np.asarray(scores),
        lead_ids=np.arange(1, n_leads + 1),
        lead_tier=np.full(n_leads, tier), lead_rule=np.full(n_leads, rule),
        lead_values=np.full((n_leads, len(members.skills)), -1) if values is None else np.asarray(values),
        rule_members=np.ones((1, m), dtype=bool) if rule_members is None else np.asarray(rule_members),
        rule_valid=np.array([valid]), rule_round_robin=np.array([round_robin]),
        members=members, **kwargs)


def test_skill_matches_counts_matching_dimensions():
    industries = np.array([[1, 0], [0, 1], [0, 0]], dtype=bool)  # 3 members, 2 industries
    countries = np.array([[1], [1], [0]], dtype=bool)
    values = np.array([[0, 0], [1, -1], [-1, -1]])
    np.testing.assert_array_equal(routing.skill_matches(values, (industries, countries)),
                                  [[2, 1, 0], [0, 1, 0], [0, 0, 0]])


def test_skill_matches_rejects_misaligned_dimensions():
    with pytest.raises(ValueError, match="do not fit"):
        routing.skill_matches(np.zeros((2, 3), dtype=int), (np.zeros((1, 1), dtype=bool),))


def test_best_skill_match_wins_over_load():
    skills = (np.array([[0], [1], [0]], dtype=bool),)
    members = _members(skills=skills, open_leads=[[0], [4], [0]])
    result = _assign(members, 1, values=[[0]])
    assert result.member.tolist() == [1]
    assert result.skill.tolist() == [1] and result.load.tolist() == [4] and result.capacity.tolist() == [5]


def test_equal_skills_go_to_the_least_loaded_relative_to_capacity_then_lowest_id():
    members = _members(capacity=[[10], [4], [10]], open_leads=[[3], [1], [2]])
    # loads 0.3, 0.25, 0.2: the third member first, then ties resolved by load then id
    result = _assign(members, 4)
    assert result.member.tolist()[0] == 2
    members = _members(capacity=[[4], [4], [4]], open_leads=[[1], [1], [1]])
    assert _assign(members, 3).member.tolist() == [0, 1, 2]


def test_leads_are_served_in_score_order():
    members = _members(n=2, capacity=[[1], [1]])
    skills = (np.array([[1], [0]], dtype=bool),)
    members = routing.Members(members.ids, skills, members.available, members.capacity, members.open_leads)
    # both leads match member 0; the higher score gets it, the other gets member 1
    result = _assign(members, 2, scores=[40, 90], values=[[0], [0]])
    assert result.member.tolist() == [1, 0]


def test_capacity_is_never_exceeded_and_the_rest_is_unroutable():
    members = _members(capacity=[[2], [0], [3]], open_leads=[[1], [0], [0]])
    result = _assign(members, 10)
    assigned = result.member[result.member >= 0]
    assert np.bincount(assigned, minlength=3).tolist() == [1, 0, 3]
    assert (result.reason[result.member < 0] == routing.NO_CAPACITY).all()
    assert (result.member < 0).sum() == 6


def test_unavailable_members_never_get_a_lead():
    members = _members(available=[False, True, False], capacity=100)
    result = _assign(members, 20)
    assert set(result.member.tolist()) == {1}
    members = _members(available=[False, False, False])
    result = _assign(members, 2)
    assert result.member.tolist() == [-1, -1]
    assert result.reason.tolist() == [routing.UNAVAILABLE] * 2


def test_rule_members_restrict_the_choice_and_an_empty_rule_is_reported():
    members = _members()
    result = _assign(members, 3, rule_members=[[False, False, True]])
    assert result.member.tolist() == [2, 2, 2]
    result = _assign(members, 1, rule_members=[[False, False, False]])
    assert result.reason.tolist() == [routing.NO_MEMBER]


def test_no_rule_and_invalid_rule_leave_the_lead_unassigned():
    members = _members()
    assert _assign(members, 1, rule=-1).reason.tolist() == [routing.NO_RULE]
    result = _assign(members, 1, valid=False)
    assert result.member.tolist() == [-1] and result.reason.tolist() == [routing.INVALID_RULE]


def test_capacity_is_per_tier():
    members = _members(n=2, tiers=2, capacity=[[1, 0], [0, 1]])
    result = routing.assign(
        scores=np.array([80, 70, 60]), lead_ids=np.array([1, 2, 3]), lead_tier=np.array([1, 0, 1]),
        lead_rule=np.zeros(3, dtype=int), lead_values=np.full((3, 1), -1),
        rule_members=np.ones((1, 2), dtype=bool), rule_valid=np.array([True]),
        rule_round_robin=np.array([False]), members=members)
    assert result.member.tolist() == [1, 0, -1]


def test_weighted_round_robin_follows_capacity_weights_and_history():
    members = _members(n=3, capacity=[[20], [10], [10]])
    result = _assign(members, 8, round_robin=True)
    assert np.bincount(result.member, minlength=3).tolist() == [4, 2, 2]
    # the first lead goes to whoever received least from the rule lately
    result = _assign(members, 1, round_robin=True, received=np.array([[5, 0, 3]]))
    assert result.member.tolist() == [1]


def test_exclude_keeps_a_lead_away_from_its_owner():
    members = _members(n=2)
    result = _assign(members, 2, exclude=np.array([0, 1]))
    assert result.member.tolist() == [1, 0]
    result = _assign(members, 1, rule_members=[[True, False]], exclude=np.array([0]))
    assert result.reason.tolist() == [routing.NO_MEMBER]


def test_members_must_be_in_id_order():
    members = _members()
    members = routing.Members(members.ids[::-1], members.skills, members.available, members.capacity,
                              members.open_leads)
    with pytest.raises(ValueError, match="increasing id order"):
        _assign(members, 1)


def _random_case(rng, n=10000, m=50, tiers=4, rules=5):
    skills = tuple(rng.random((m, v)) < 0.2 for v in (30, 40, 8, 3))
    members = routing.Members(
        ids=np.arange(m) + 1, skills=skills, available=rng.random(m) < 0.9,
        capacity=rng.integers(0, 400, (m, tiers)), open_leads=rng.integers(0, 50, (m, tiers)))
    values = np.column_stack([rng.integers(-1, v, n) for v in (30, 40, 8, 3)])
    return {
        "scores": rng.integers(0, 101, n), "lead_ids": np.arange(n) + 1, "lead_tier": rng.integers(0, tiers, n),
        "lead_rule": rng.integers(-1, rules, n), "lead_values": values,
        "rule_members": rng.random((rules, m)) < 0.6, "rule_valid": np.ones(rules, dtype=bool),
        "rule_round_robin": np.arange(rules) % 2 == 1, "members": members,
    }


def test_random_case_respects_capacity_availability_and_is_deterministic():
    rng = np.random.default_rng(7)
    args = _random_case(rng)
    first = routing.assign(**args)
    second = routing.assign(**args)
    np.testing.assert_array_equal(first.member, second.member)
    members = args["members"]
    routed = first.member >= 0
    assert routed.sum() > 1000
    assert members.available[first.member[routed]].all()
    assert args["rule_members"][args["lead_rule"][routed], first.member[routed]].all()
    counts = np.zeros_like(members.capacity)
    np.add.at(counts, (first.member[routed], args["lead_tier"][routed]), 1)
    assert (members.open_leads + counts <= np.maximum(members.capacity, members.open_leads)).all()
    assert (counts[members.capacity <= members.open_leads] == 0).all()
    # shuffling the input does not change who gets which lead
    perm = rng.permutation(len(args["lead_ids"]))
    shuffled = {key: (value[perm] if key in ("scores", "lead_ids", "lead_tier", "lead_rule", "lead_values")
                      else value) for key, value in args.items()}
    third = routing.assign(**shuffled)
    np.testing.assert_array_equal(third.member, first.member[perm])


def test_ten_thousand_leads_among_fifty_members_take_well_under_a_second():
    args = _random_case(np.random.default_rng(3))
    start = time.perf_counter()
    routing.assign(**args)
    assert time.perf_counter() - start < 0.8


def test_deadline_groups_plan_each_distinct_triple_once():
    unique, inverse = routing.working_deadline_groups([100, 100, 100, 200], [1, 1, 8, 1], [3, 3, 3, 3])
    assert len(unique) == 3
    assert inverse[0] == inverse[1] != inverse[2]


def test_escalation_level_picks_the_highest_step_reached():
    steps = np.array([[0, 4, 8], [0, 4, 8], [0, 4, 8], [0, 4, 8], [1, 0, 8], [1, 0, 0]])
    overdue = np.array([-1, 0.5, 5, 9, 5, 100])
    assert routing.escalation_level(overdue, steps).tolist() == [0, 1, 2, 3, 1, 1]
