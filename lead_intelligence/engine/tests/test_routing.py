import time

import numpy as np
import pytest
from engine import routing


def _members(n=3, tiers=1, capacity=5, **given):
    """``n`` members, every one available with ``capacity`` leads of each of ``tiers`` tiers, no skills
    and no open leads, but what is ``given`` (``available``, ``skills``, ``open_leads``)."""
    return routing.Members(
        ids=np.arange(1, n + 1) * 10,
        skills=given.get("skills", (np.zeros((n, 0), dtype=bool),)),
        available=np.asarray(given.get("available", np.ones(n, dtype=bool))),
        capacity=np.full((n, tiers), capacity) if np.isscalar(capacity) else np.asarray(capacity),
        open_leads=np.asarray(given.get("open_leads", np.zeros((n, tiers), dtype=int))),
    )


def _rules(m, members=None, valid=True, round_robin=False, received=None):
    """One rule over the ``m`` members (or ``members``, (1, m) bool)."""
    return routing.Rules(members=np.ones((1, m), dtype=bool) if members is None else np.asarray(members),
                         valid=np.array([valid]), round_robin=np.array([round_robin]), received=received)


def _leads(n, dimensions=1, values=None, **columns):
    """``n`` leads of ids 1..n, score 50, tier 0, rule 0, without a value in the ``dimensions`` profile
    dimensions, but ``values`` ((n, d) codes) and ``columns`` (a scalar for every lead, or (n,))."""
    values = np.full((n, dimensions), -1) if values is None else np.asarray(values)
    columns = {"id": np.arange(1, n + 1), "score": 50, "tier": 0, "rule": 0, "exclude": -1} | columns
    return routing.Leads(**{name: np.array(np.broadcast_to(value, n)) for name, value in columns.items()},
                         profile=tuple(values.T))


def _assign(members, n_leads, rules=None, **columns):
    """Assign ``n_leads`` leads (see :func:`_leads`) by ``rules`` (default: one rule over every member)."""
    return routing.assign(_leads(n_leads, len(members.skills), **columns),
                          _rules(len(members.ids)) if rules is None else rules, members)


def test_skill_matches_counts_matching_dimensions():
    industries = np.array([[1, 0], [0, 1], [0, 0]], dtype=bool)  # 3 members, 2 industries
    countries = np.array([[1], [1], [0]], dtype=bool)
    values = np.array([[0, 0], [1, -1], [-1, -1]])
    np.testing.assert_array_equal(routing.skill_matches(values, (industries, countries)),
                                  [[2, 1, 0], [0, 1, 0], [0, 0, 0]])


def test_skill_matches_rejects_misaligned_dimensions():
    with pytest.raises(ValueError, match="do not fit"):
        routing.skill_matches(np.zeros((2, 3), dtype=int), (np.zeros((1, 1), dtype=bool),))


def test_a_many_valued_dimension_counts_once_when_any_value_matches():
    """Content topics: a lead interested in topics 0 and 2 matches a member with either (once, not twice)."""
    topics = np.array([[1, 0, 1], [0, 1, 0], [0, 0, 1]], dtype=bool)  # 3 members, 3 topics
    no_profile = np.full((3, 0), -1)
    lead_topics = (np.array([0, 0, 1]), np.array([0, 2, 1]))  # lead 0: topics 0 and 2; lead 1: topic 1; lead 2: none
    np.testing.assert_array_equal(
        routing.skill_matches(no_profile, (), (lead_topics,), (topics,)), [[1, 0, 1], [0, 1, 0], [0, 0, 0]])
    with pytest.raises(ValueError, match="many-valued"):
        routing.skill_matches(no_profile, (), (lead_topics,), ())


def test_topic_skills_prefer_the_member_who_knows_the_lead_s_interest():
    topics = np.array([[0, 0], [0, 1], [1, 0]], dtype=bool)
    members = routing.Members(ids=np.array([10, 20, 30]), skills=(), available=np.ones(3, dtype=bool),
                              capacity=np.full((3, 1), 5), open_leads=np.zeros((3, 1), dtype=int),
                              set_skills=(topics,))
    leads = routing.Leads(id=np.array([1, 2, 3]), score=np.array([50.0, 40.0, 30.0]), tier=np.zeros(3, dtype=int),
                          rule=np.zeros(3, dtype=int), exclude=np.full(3, -1),
                          interests=((np.array([0, 1]), np.array([1, 0])),))  # lead 1: topic 1; lead 2: topic 0
    result = routing.assign(leads, _rules(3), members)
    # lead 3 has no interest: equal members, the least loaded then the lowest id (10, who has none yet)
    assert result.member.tolist() == [1, 2, 0] and result.skill.tolist() == [1, 1, 0]
    # taking rows keeps each lead's interests with it
    taken = leads.take(np.array([False, True, True]))
    assert [row.tolist() for row in taken.interests[0]] == [[0], [0]]


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
    result = _assign(members, 2, score=[40, 90], values=[[0], [0]])
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
    result = _assign(members, 3, rules=_rules(3, members=[[False, False, True]]))
    assert result.member.tolist() == [2, 2, 2]
    result = _assign(members, 1, rules=_rules(3, members=[[False, False, False]]))
    assert result.reason.tolist() == [routing.NO_MEMBER]


def test_no_rule_and_invalid_rule_leave_the_lead_unassigned():
    members = _members()
    assert _assign(members, 1, rule=-1).reason.tolist() == [routing.NO_RULE]
    result = _assign(members, 1, rules=_rules(3, valid=False))
    assert result.member.tolist() == [-1] and result.reason.tolist() == [routing.INVALID_RULE]


def test_capacity_is_per_tier():
    members = _members(n=2, tiers=2, capacity=[[1, 0], [0, 1]])
    result = _assign(members, 3, score=[80, 70, 60], tier=[1, 0, 1])
    assert result.member.tolist() == [1, 0, -1]


def test_weighted_round_robin_follows_capacity_weights_and_history():
    members = _members(n=3, capacity=[[20], [10], [10]])
    result = _assign(members, 8, rules=_rules(3, round_robin=True))
    assert np.bincount(result.member, minlength=3).tolist() == [4, 2, 2]
    # the first lead goes to whoever received least from the rule lately
    result = _assign(members, 1, rules=_rules(3, round_robin=True, received=np.array([[5, 0, 3]])))
    assert result.member.tolist() == [1]


def test_exclude_keeps_a_lead_away_from_its_owner():
    members = _members(n=2)
    result = _assign(members, 2, exclude=np.array([0, 1]))
    assert result.member.tolist() == [1, 0]
    result = _assign(members, 1, rules=_rules(2, members=[[True, False]]), exclude=np.array([0]))
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
    profile = tuple(rng.integers(-1, v, n) for v in (30, 40, 8, 3))
    leads = routing.Leads(id=np.arange(n) + 1, score=rng.integers(0, 101, n), tier=rng.integers(0, tiers, n),
                          rule=rng.integers(-1, rules, n), exclude=np.full(n, -1), profile=profile)
    return leads, routing.Rules(members=rng.random((rules, m)) < 0.6, valid=np.ones(rules, dtype=bool),
                                round_robin=np.arange(rules) % 2 == 1), members


def test_random_case_respects_capacity_availability_and_is_deterministic():
    rng = np.random.default_rng(7)
    leads, rules, members = _random_case(rng)
    first = routing.assign(leads, rules, members)
    second = routing.assign(leads, rules, members)
    np.testing.assert_array_equal(first.member, second.member)
    routed = first.member >= 0
    assert routed.sum() > 1000
    assert members.available[first.member[routed]].all()
    assert rules.members[leads.rule[routed], first.member[routed]].all()
    counts = np.zeros_like(members.capacity)
    np.add.at(counts, (first.member[routed], leads.tier[routed]), 1)
    assert (members.open_leads + counts <= np.maximum(members.capacity, members.open_leads)).all()
    assert (counts[members.capacity <= members.open_leads] == 0).all()
    # shuffling the input does not change who gets which lead
    perm = rng.permutation(len(leads))
    third = routing.assign(leads.take(perm), rules, members)
    np.testing.assert_array_equal(third.member, first.member[perm])


def test_ten_thousand_leads_among_fifty_members_take_well_under_a_second():
    case = _random_case(np.random.default_rng(3))
    start = time.perf_counter()
    routing.assign(*case)
    assert time.perf_counter() - start < 0.8


def test_deadline_groups_plan_each_distinct_triple_once():
    unique, inverse = routing.working_deadline_groups([100, 100, 100, 200], [1, 1, 8, 1], [3, 3, 3, 3])
    assert len(unique) == 3
    assert inverse[0] == inverse[1] != inverse[2]


def test_escalation_level_picks_the_highest_step_reached():
    steps = np.array([[0, 4, 8], [0, 4, 8], [0, 4, 8], [0, 4, 8], [1, 0, 8], [1, 0, 0]])
    overdue = np.array([-1, 0.5, 5, 9, 5, 100])
    assert routing.escalation_level(overdue, steps).tolist() == [0, 1, 2, 3, 1, 1]
