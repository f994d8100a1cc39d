"""Lead routing: which salesperson gets which lead, over arrays.

Pure numpy, no Odoo import. The Odoo adapter reads a chunk of leads (score,
tier, matched rule, profile codes: :class:`Leads`), the rules (:class:`Rules`)
and the members they may route to (skills, availability, capacity and open
leads per tier: :class:`Members`), calls :func:`assign` and writes the result
back in bulk. The named arrays after it are what the adapter reads and writes
around the assignment: :class:`RoutingRows`, :class:`Decisions`,
:class:`EscalationRows` (the notes posted go as :class:`stages.Notes`).

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

import dataclasses
from dataclasses import dataclass

import numpy as np

from .arrays import Columns

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
    :param set_skills: one bool array (m, v_e) per many-valued dimension (the lead's
        content topics): member ``i`` has value ``k`` of dimension ``e`` among its skills
    :param available: (m,) bool, neither paused, out of office nor opted out
    :param capacity: (m, t) int, most open leads of each tier the member may hold
    :param open_leads: (m, t) int, open leads of each tier the member holds now
    """

    ids: np.ndarray
    skills: tuple
    available: np.ndarray
    capacity: np.ndarray
    open_leads: np.ndarray
    set_skills: tuple = ()


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


def skill_matches(lead_values, member_skills, lead_sets=(), member_set_skills=()):
    """Count, for every lead and member, the profile dimensions where the
    member's skills include the lead's value: one for a many-valued dimension
    where they include any of the lead's values.

    :param lead_values: (n, d) int, index of the lead's value in dimension
        ``d``, -1 when the lead has none
    :param member_skills: sequence of d bool arrays (m, v_d)
    :param lead_sets: sequence of e pairs (rows, codes) of int arrays, one entry per
        value a lead has in a many-valued dimension: the lead's row and the value's index
    :param member_set_skills: sequence of e bool arrays (m, v_e)
    :return: int array (n, m)
    """
    lead_values = np.asarray(lead_values, dtype=np.int64)
    if lead_values.ndim != 2 or lead_values.shape[1] != len(member_skills):
        raise ValueError(f"lead values {lead_values.shape} do not fit {len(member_skills)} skill dimensions")
    n = lead_values.shape[0]
    m = next((len(skills) for skills in (*member_skills, *member_set_skills)), 0)
    matches = np.zeros((n, m), dtype=np.int64)
    for dimension, skills in enumerate(member_skills):
        skills = np.asarray(skills, dtype=bool)
        codes = lead_values[:, dimension]
        known = codes >= 0
        if skills.shape[1] and known.any():
            # (m, n) columns of the lead values, transposed onto the leads
            matches[known] += skills[:, codes[known]].T
    if len(lead_sets) != len(member_set_skills):
        raise ValueError(f"{len(lead_sets)} many-valued lead dimensions for {len(member_set_skills)} of skills")
    for (rows, codes), skills in zip(lead_sets, member_set_skills, strict=True):
        skills = np.asarray(skills, dtype=bool)
        rows, codes = np.asarray(rows, dtype=np.int64), np.asarray(codes, dtype=np.int64)
        if skills.shape[1] and len(rows):
            hit = np.zeros((n, m), dtype=bool)
            np.logical_or.at(hit, rows, skills[:, codes].T)
            matches += hit
    return matches


def priority_order(scores, lead_ids):
    """Order in which leads are served: highest score first, ties by lead id."""
    return np.lexsort((np.asarray(lead_ids), -np.asarray(scores, dtype=np.float64)))


@dataclass(frozen=True)
class Rules:
    """The routing rules, ``r`` of them, over the ``m`` members.

    :param members: (r, m) bool, the members each rule may route to
    :param valid: (r,) bool, false for a rule that cannot be evaluated
    :param round_robin: (r,) bool, weighted round robin instead of skills
    :param received: (r, m) int, leads each member received from each rule
        lately (round robin picks up where it left off); ``None``: zeros
    """

    members: np.ndarray
    valid: np.ndarray
    round_robin: np.ndarray
    received: np.ndarray = None


@dataclass(frozen=True, eq=False)
class Leads(Columns):
    """The leads to assign, ``n`` of them; each column (n,).

    * ``id``: the lead's id (orders ties); ``score``: float64, highest served first;
    * ``tier``: index of the lead's tier into the capacity columns;
    * ``rule``: index of the rule that routes the lead, -1 for none;
    * ``exclude``: index of a member the lead must not go to, -1 for none (reassignment
      away from its current owner).

    ``profile`` is no column: one (n,) int column per skill dimension, the index of the
    lead's value in the dimension, -1 when the lead has none (see :func:`skill_matches`).
    ``interests`` neither: one (rows, codes) pair per many-valued skill dimension, an entry
    per value of a lead (its content topics).
    """

    _DTYPES = {"score": np.float64}

    id: np.ndarray
    score: np.ndarray
    tier: np.ndarray
    rule: np.ndarray
    exclude: np.ndarray
    profile: tuple = ()
    interests: tuple = ()

    def take(self, index):
        """The rows ``index`` (a mask or positions), of the profile and the interests too."""
        profile = tuple(np.asarray(codes)[index] for codes in self.profile)
        positions = np.arange(len(self))[index]
        new_row = np.full(len(self), -1, dtype=np.int64)
        new_row[positions] = np.arange(len(positions))
        interests = []
        for rows, codes in self.interests:
            kept = new_row[np.asarray(rows, dtype=np.int64)] >= 0
            interests.append((new_row[np.asarray(rows, dtype=np.int64)[kept]], np.asarray(codes)[kept]))
        return dataclasses.replace(super().take(index), profile=profile, interests=tuple(interests))

    def profile_matrix(self):
        """(n, d) the profile codes, as :func:`skill_matches` takes them."""
        return np.column_stack(self.profile) if self.profile else np.zeros((len(self), 0), dtype=np.int64)


def assign(leads, rules, members):
    """Assign each lead to a member, or to none with a reason.

    :param leads: :class:`Leads`
    :param rules: :class:`Rules`
    :param members: :class:`Members`
    :return: :class:`Assignment`, in the order of ``leads``
    """
    n = len(leads)
    m = len(members.ids)
    if np.any(np.diff(members.ids) <= 0):
        raise ValueError("members must be given in increasing id order")
    rule_members = np.asarray(rules.members, dtype=bool).reshape(-1, m)
    rule_valid = np.asarray(rules.valid, dtype=bool)
    rule_round_robin = np.asarray(rules.round_robin, dtype=bool)
    capacity = np.asarray(members.capacity, dtype=np.int64).reshape(m, -1)
    load = np.asarray(members.open_leads, dtype=np.int64).reshape(m, -1).copy()
    if capacity.shape != load.shape:
        raise ValueError(f"capacity {capacity.shape} and open leads {load.shape} differ")
    received = (np.zeros(rule_members.shape, dtype=np.int64) if rules.received is None
                else np.asarray(rules.received, dtype=np.int64).copy())
    exclude, lead_tier, lead_rule = leads.exclude, leads.tier, leads.rule

    matches = skill_matches(leads.profile_matrix(), members.skills, leads.interests,
                            members.set_skills).astype(np.float64)
    has_room = load < capacity  # (m, t), kept up to date as leads are assigned
    safe_capacity = np.maximum(capacity, 1).astype(np.float64)
    open_to = rule_members & np.asarray(members.available, dtype=bool)  # (r, m)
    member = np.full(n, -1, dtype=np.int64)
    reason = np.full(n, NO_RULE, dtype=np.int64)
    skill = np.zeros(n, dtype=np.int64)
    load_before = np.zeros(n, dtype=np.int64)
    capacity_of = np.zeros(n, dtype=np.int64)
    for i in priority_order(leads.score, leads.id).tolist():
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


@dataclass(frozen=True, eq=False)
class RoutingRows(Columns):
    """A chunk of leads to route, as read from the database; each column (n,) int64.

    * ``id``: the lead; ``company_id``, ``tier_id``, ``user_id`` (its owner): 0 for none;
    * ``score``: 0-100, 0 when not computed yet;
    * ``industry_id``, ``country_id``, ``lang_id``, ``company_size``: the lead's profile
      (:data:`PROFILE`), ids or, for the size, its 1-based position in the sizes; 0 for none;
    * ``rule``: index of the first rule that routes the lead, -1 for none: not read but
      matched afterwards, -1 from :meth:`from_read`.
    """

    PROFILE = ("industry_id", "country_id", "lang_id", "company_size")

    id: np.ndarray
    company_id: np.ndarray
    tier_id: np.ndarray
    score: np.ndarray
    user_id: np.ndarray
    industry_id: np.ndarray
    country_id: np.ndarray
    lang_id: np.ndarray
    company_size: np.ndarray
    rule: np.ndarray

    @classmethod
    def read_names(cls):
        """The columns read from the database, in the order of :meth:`from_read`: all but ``rule``."""
        return cls.column_names()[:-1]

    @classmethod
    def from_read(cls, matrix):
        """From the (n, k) matrix read, whose columns are :meth:`read_names`, no rule yet."""
        matrix = np.asarray(matrix)
        return cls(**dict(zip(cls.read_names(), matrix.T, strict=True)), rule=np.full(len(matrix), -1))

    def profile(self):
        """The profile's columns, in the order of :data:`PROFILE` (the skill dimensions)."""
        return tuple(getattr(self, name) for name in self.PROFILE)


@dataclass(frozen=True, eq=False)
class Decisions(Columns):
    """What routing decided for a set of leads, one row per lead, as written on the lead and
    in its routing history.

    * ``id``: the lead; ``kind``: str, the kind of the history's entry;
    * ``from_user_id``, ``user_id``: the owner before and after, 0 for none;
    * ``team_id``, ``rule_id``, ``tier_id``: 0 for none;
    * ``reason``: str, the routing reason, lines of text;
    * ``deadline``: the first-contact deadline (a naive UTC datetime), ``None`` for none.
    """

    _DTYPES = {"kind": object, "reason": object, "deadline": object}

    id: np.ndarray
    kind: np.ndarray
    from_user_id: np.ndarray
    user_id: np.ndarray
    team_id: np.ndarray
    rule_id: np.ndarray
    tier_id: np.ndarray
    reason: np.ndarray
    deadline: np.ndarray

    def headlines(self):
        """The first line of each reason: the decision, without the why."""
        return [reason.splitlines()[0] for reason in self.reason.tolist()]


@dataclass(frozen=True, eq=False)
class EscalationRows(Columns):
    """Breached leads to escalate, as read from the database; each column (n,), int64 but the hours.

    * ``id``: the lead; ``level``: its escalation level so far;
    * ``user_id``, ``leader_id``: its owner and the team leader, 0 for none; ``user_partner_id``,
      ``leader_partner_id``: their partners, 0 for none;
    * ``overdue_hours``: float64, hours since the SLA deadline;
    * ``reminder_hours``, ``leader_hours``, ``reassign_hours``: float64, the tier's escalation steps;
    * ``tier_id``, ``team_id``: 0 for none.
    """

    _DTYPES = {"overdue_hours": np.float64, "reminder_hours": np.float64, "leader_hours": np.float64,
               "reassign_hours": np.float64}

    id: np.ndarray
    level: np.ndarray
    user_id: np.ndarray
    leader_id: np.ndarray
    user_partner_id: np.ndarray
    leader_partner_id: np.ndarray
    overdue_hours: np.ndarray
    reminder_hours: np.ndarray
    leader_hours: np.ndarray
    reassign_hours: np.ndarray
    tier_id: np.ndarray
    team_id: np.ndarray

    def target_level(self):
        """(n,) the escalation step each lead has reached (see :func:`escalation_level`)."""
        return escalation_level(
            self.overdue_hours, np.column_stack([self.reminder_hours, self.leader_hours, self.reassign_hours]))
