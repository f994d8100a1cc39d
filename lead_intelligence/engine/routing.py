"""Lead routing: which salesperson gets which lead, over arrays.

Pure numpy, no Odoo import. The Odoo adapter reads a chunk of leads (score,
tier, matched rule, profile codes) and the members the rules may route to
(skills, availability, capacity and open leads per tier), calls :func:`assign`
and writes the result back in bulk.

Leads are served in score order (highest first, ties by lead id). Each goes to
an available member of its rule that still has capacity for the lead's tier:

- ``skill``: the member whose skills match most of the lead's profile
  (industry, country, language, company size: one point per dimension), then
  the least loaded (open leads of the tier / capacity for the tier), then the
  lowest member id;
- ``round robin``: weighted round robin, the member with the fewest leads
  received from the rule relative to its capacity for the tier
  (``(received + 1) / capacity`` smallest), then the lowest member id.

Capacity is never exceeded and unavailable members never chosen; a lead no
one may take gets member ``-1`` and a reason code. The result depends only on
the input: the same arrays give the same assignment.
"""

from dataclasses import dataclass

import numpy as np

ASSIGNED = 0
NO_RULE = 1  # no routing rule matches the lead
INVALID_RULE = 2  # the matching rule cannot be evaluated (its condition no longer parses)
NO_MEMBER = 3  # the rule names no member (or only the member the lead is taken from)
UNAVAILABLE = 4  # every member of the rule is paused, out of office or opted out
NO_CAPACITY = 5  # every available member is at capacity for the lead's tier


@dataclass(frozen=True)
class Members:
    """The salespeople routing may choose from, ``m`` of them, in member id order.

    :param ids: (m,) member ids, increasing (ties go to the lowest)
    :param skills: one bool array (m, v_d) per profile dimension: member ``i``
        has value ``k`` of dimension ``d`` among its skills
    :param available: (m,) bool, neither paused, out of office nor opted out
    :param capacity: (m, t) int, most open leads of each tier the member may hold
    :param open_leads: (m, t) int, open leads of each tier the member holds now
    """

    ids: np.ndarray
    skills: tuple
    available: np.ndarray
    capacity: np.ndarray
    open_leads: np.ndarray


@dataclass(frozen=True)
class Assignment:
    """What :func:`assign` decided, one entry per lead, in the input's order.

    :param member: (n,) index into the members, -1 when unroutable
    :param reason: (n,) ``ASSIGNED`` or the code of why no one could take it
    :param skill: (n,) profile dimensions the chosen member's skills match
    :param load: (n,) open leads of the lead's tier the member held before it
    :param capacity: (n,) the member's capacity for the lead's tier
    """

    member: np.ndarray
    reason: np.ndarray
    skill: np.ndarray
    load: np.ndarray
    capacity: np.ndarray


def skill_matches(lead_values, member_skills):
    """Count, for every lead and member, the profile dimensions where the
    member's skills include the lead's value.

    :param lead_values: (n, d) int, index of the lead's value in dimension
        ``d``, -1 when the lead has none
    :param member_skills: sequence of d bool arrays (m, v_d)
    :return: int array (n, m)
    """
    lead_values = np.asarray(lead_values, dtype=np.int64)
    if lead_values.ndim != 2 or lead_values.shape[1] != len(member_skills):
        raise ValueError(f"lead values {lead_values.shape} do not fit {len(member_skills)} skill dimensions")
    n = lead_values.shape[0]
    m = member_skills[0].shape[0] if member_skills else 0
    matches = np.zeros((n, m), dtype=np.int64)
    for dimension, skills in enumerate(member_skills):
        skills = np.asarray(skills, dtype=bool)
        codes = lead_values[:, dimension]
        known = codes >= 0
        if skills.shape[1] and known.any():
            # (m, n) columns of the lead values, transposed onto the leads
            matches[known] += skills[:, codes[known]].T
    return matches


def priority_order(scores, lead_ids):
    """Order in which leads are served: highest score first, ties by lead id."""
    return np.lexsort((np.asarray(lead_ids), -np.asarray(scores, dtype=np.float64)))


def assign(scores, lead_ids, lead_tier, lead_rule, lead_values, rule_members, rule_valid, rule_round_robin,
           members, received=None, exclude=None):
    """Assign each lead to a member, or to none with a reason.

    :param scores: (n,) lead scores; ``lead_ids``: (n,) lead ids (order ties)
    :param lead_tier: (n,) tier index into the capacity columns
    :param lead_rule: (n,) index of the rule that routes the lead, -1 for none
    :param lead_values: (n, d) profile codes, see :func:`skill_matches`
    :param rule_members: (r, m) bool, the members each rule may route to
    :param rule_valid: (r,) bool, false for a rule that cannot be evaluated
    :param rule_round_robin: (r,) bool, weighted round robin instead of skills
    :param members: :class:`Members`
    :param received: (r, m) int, leads each member received from each rule
        lately (round robin picks up where it left off); zeros by default
    :param exclude: (n,) member index a lead must not go to (-1: none), for
        reassignment away from its current owner
    :return: :class:`Assignment`
    """
    lead_ids = np.asarray(lead_ids, dtype=np.int64)
    n = len(lead_ids)
    m = len(members.ids)
    if np.any(np.diff(members.ids) <= 0):
        raise ValueError("members must be given in increasing id order")
    rule_members = np.asarray(rule_members, dtype=bool).reshape(-1, m)
    rule_valid = np.asarray(rule_valid, dtype=bool)
    rule_round_robin = np.asarray(rule_round_robin, dtype=bool)
    capacity = np.asarray(members.capacity, dtype=np.int64).reshape(m, -1)
    load = np.asarray(members.open_leads, dtype=np.int64).reshape(m, -1).copy()
    if capacity.shape != load.shape:
        raise ValueError(f"capacity {capacity.shape} and open leads {load.shape} differ")
    received = (np.zeros(rule_members.shape, dtype=np.int64) if received is None
                else np.asarray(received, dtype=np.int64).copy())
    exclude = np.full(n, -1, dtype=np.int64) if exclude is None else np.asarray(exclude, dtype=np.int64)
    lead_tier = np.asarray(lead_tier, dtype=np.int64)
    lead_rule = np.asarray(lead_rule, dtype=np.int64)

    matches = skill_matches(lead_values, members.skills).astype(np.float64)
    has_room = load < capacity  # (m, t), kept up to date as leads are assigned
    safe_capacity = np.maximum(capacity, 1).astype(np.float64)
    open_to = rule_members & np.asarray(members.available, dtype=bool)  # (r, m)
    member = np.full(n, -1, dtype=np.int64)
    reason = np.full(n, NO_RULE, dtype=np.int64)
    skill = np.zeros(n, dtype=np.int64)
    load_before = np.zeros(n, dtype=np.int64)
    capacity_of = np.zeros(n, dtype=np.int64)
    for i in priority_order(scores, lead_ids).tolist():
        rule = lead_rule[i]
        if rule < 0:
            continue
        if not rule_valid[rule]:
            reason[i] = INVALID_RULE
            continue
        tier = lead_tier[i]
        candidates = open_to[rule] & has_room[:, tier]
        if exclude[i] >= 0:
            candidates[exclude[i]] = False
        if not candidates.any():
            reason[i] = _why_not(rule_members[rule], members.available, has_room[:, tier], exclude[i])
            continue
        if rule_round_robin[rule]:
            key = -(received[rule] + 1) / safe_capacity[:, tier]
        else:
            # skill points are whole numbers and the load ratio is below 1: skills come first
            key = matches[i] - load[:, tier] / safe_capacity[:, tier]
        chosen = int(np.argmax(np.where(candidates, key, -np.inf)))  # first maximum: lowest member id
        member[i] = chosen
        reason[i] = ASSIGNED
        skill[i] = matches[i, chosen]
        load_before[i] = load[chosen, tier]
        capacity_of[i] = capacity[chosen, tier]
        load[chosen, tier] += 1
        has_room[chosen, tier] = load[chosen, tier] < capacity[chosen, tier]
        received[rule, chosen] += 1
    return Assignment(member=member, reason=reason, skill=skill, load=load_before, capacity=capacity_of)


def _why_not(rule_members, available, has_room, excluded):
    """Reason code of a lead none of whose rule's members can take it."""
    named = rule_members.copy()
    if excluded >= 0:
        named[excluded] = False
    if not named.any():
        return NO_MEMBER
    if not (named & available).any():
        return UNAVAILABLE
    return NO_CAPACITY


def working_deadline_groups(starts, hours, calendars):
    """Group the SLA deadlines to compute: one per distinct (calendar, start, hours).

    Planning working hours on a calendar is costly (it walks the calendar's
    attendances); a chunk routed at once shares a handful of calendars, one
    start and a few tiers, so each distinct triple is planned once.

    :return: (unique triples as a (k, 3) array, inverse index (n,))
    """
    keys = np.column_stack([np.asarray(calendars, dtype=np.int64), np.asarray(starts, dtype=np.int64),
                            np.round(np.asarray(hours, dtype=np.float64) * 3600).astype(np.int64)])
    if not len(keys):
        return keys.reshape(0, 3), np.zeros(0, dtype=np.int64)
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    return unique, inverse.reshape(-1)


def escalation_level(overdue_hours, step_hours):
    """Escalation step each breached lead has reached.

    :param overdue_hours: (n,) hours since the lead's SLA deadline (negative: not yet due)
    :param step_hours: (n, 3) hours after the deadline of the reminder, the
        leader notice and the reassignment; 0 turns a step off, except the
        reminder, which is due at ``0`` hours (the deadline itself)
    :return: (n,) int, 0 (not due), 1 reminder, 2 leader, 3 reassign
    """
    overdue = np.asarray(overdue_hours, dtype=np.float64)[:, None]
    steps = np.asarray(step_hours, dtype=np.float64).reshape(-1, 3)
    enabled = np.column_stack([np.ones(len(steps), dtype=bool), steps[:, 1:] > 0])
    reached = enabled & (overdue >= steps)
    # the highest step reached (steps are ordered by their hours, see the tier constraint)
    return np.where(reached.any(axis=1), 3 - np.argmax(reached[:, ::-1], axis=1), 0)
