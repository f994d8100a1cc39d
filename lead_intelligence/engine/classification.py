"""Vectorised classification: first matching rule per dimension, company size, changes.

Pure numpy, no Odoo import. Rules arrive as a leads x rules match matrix (see
``scoring.unpack_matches``) with, per rule, its dimension and the index of the
value it gives; leads get, per dimension, the value of the first matching rule
in rule order, all dimensions at once.

Named arrays: :class:`ClassificationState` (what the pass reads of a chunk of
leads), :class:`DimensionValues` (a value per single-valued dimension),
:class:`RuleValues` (what each rule gives) and :class:`ChangedCells` (the
changed values, for the history and the chatter); :func:`classify_values`
takes them with a :class:`ClassificationConfig`.
"""

import dataclasses

import numpy as np

from .arrays import Columns
from .stages import FieldChanges, TrackingCells

NO_VALUE = -1


def first_match_values(matches, rule_dimension, rule_value, n_dimensions):
    """Value index of each lead in each dimension: that of its first matching rule.

    :param matches: (n_leads, n_rules) bools, rules in priority order
    :param rule_dimension: (n_rules,) dimension index of each rule
    :param rule_value: (n_rules,) value index each rule gives
    :return: (n_leads, n_dimensions) int array, ``NO_VALUE`` where no rule matches
    """
    matches = np.asarray(matches, dtype=bool)
    rule_dimension = np.asarray(rule_dimension, dtype=np.int64)
    rule_value = np.asarray(rule_value, dtype=np.int64)
    n_leads = matches.shape[0]
    result = np.full((n_leads, n_dimensions), NO_VALUE, dtype=np.int64)
    for dimension in range(n_dimensions):
        rules = np.flatnonzero(rule_dimension == dimension)
        if not len(rules):
            continue
        block = matches[:, rules]
        first = block.argmax(axis=1)  # first True in priority order (0 when none)
        hit = block[np.arange(n_leads), first]
        result[hit, dimension] = rule_value[rules[first[hit]]]
    return result


def all_match_values(matches, rule_value):
    """Every value given by a matching rule (for tags: several apply at once).

    :return: list, per lead, of the sorted distinct value indexes
    """
    matches = np.asarray(matches, dtype=bool)
    rule_value = np.asarray(rule_value, dtype=np.int64)
    leads, rules = np.nonzero(matches)
    values = rule_value[rules]
    result = [[] for _lead in range(matches.shape[0])]
    for lead, value in zip(leads.tolist(), values.tolist(), strict=True):
        result[lead].append(value)
    return [sorted(set(values)) for values in result]


MAX_SET_BITS = 62  # distinct values a set is packed into one int64 for; one more bit says "another value"


def set_masks(matches, rule_value, current_lead_index, current_values):
    """Pack the value sets of the leads, new and current, into int64 bit masks.

    :param matches: (n_leads, n_rules) bools
    :param rule_value: (n_rules,) value each rule gives (several rules may give the same)
    :param current_lead_index / current_values: (m,) the current (lead index, value) pairs
    :return: (new masks (n_leads,), current masks (n_leads,)), or None when the rules give
        more than :data:`MAX_SET_BITS` distinct values. A current value no rule gives sets
        the extra bit: such a set never equals a new one.
    """
    matches = np.asarray(matches, dtype=bool)
    rule_value = np.asarray(rule_value, dtype=np.int64)
    distinct = np.unique(rule_value)
    if len(distinct) > MAX_SET_BITS:
        return None
    n_leads = matches.shape[0]
    bits = np.left_shift(np.int64(1), np.searchsorted(distinct, rule_value).astype(np.int64))
    new = np.bitwise_or.reduce(np.where(matches, bits, 0), axis=1) if len(rule_value) \
        else np.zeros(n_leads, dtype=np.int64)
    current_values = np.asarray(current_values, dtype=np.int64)
    position = np.searchsorted(distinct, current_values)
    known = position < len(distinct)
    known[known] = distinct[position[known]] == current_values[known]
    current_bits = np.where(known, np.left_shift(np.int64(1), np.minimum(position, MAX_SET_BITS)),
                            np.int64(1) << MAX_SET_BITS)
    current = np.zeros(n_leads, dtype=np.int64)
    np.bitwise_or.at(current, np.asarray(current_lead_index, dtype=np.int64), current_bits)
    return new.astype(np.int64), current


def company_size(employees, revenue, employee_thresholds, revenue_thresholds):
    """Company size from headcount and annual revenue: 0 small, 1 medium, 2 large, ``NO_VALUE`` unknown.

    A company is as large as the larger of its two measures says; a measure
    that is missing (0 or less, or NaN) says nothing.

    :param employee_thresholds, revenue_thresholds: (medium from, large from)
    """
    employees = np.nan_to_num(np.asarray(employees, dtype=np.float64), nan=0.0)
    revenue = np.nan_to_num(np.asarray(revenue, dtype=np.float64), nan=0.0)
    by_employees = np.where(employees > 0, np.searchsorted(np.asarray(employee_thresholds, dtype=np.float64),
                                                           employees, side="right"), NO_VALUE)
    by_revenue = np.where(revenue > 0, np.searchsorted(np.asarray(revenue_thresholds, dtype=np.float64),
                                                       revenue, side="right"), NO_VALUE)
    return np.maximum(by_employees, by_revenue)


# how a rule's condition compares a score the pass writes with a constant, on the stored integers
SCORE_COMPARISONS = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "=": np.equal,
    "!=": np.not_equal,
    "in": np.isin,
    "not in": lambda values, constants: ~np.isin(values, constants),
}


def conditions_flipped(old, new, conditions):
    """(n,) bool: the leads on which one of ``conditions`` may hold on the scores ``old`` and not
    on the scores ``new``, or the reverse: where a rule reading them only through these conditions
    (and otherwise fields that did not change) may match otherwise.

    :param old, new: :class:`~.stages.ScoreUpdate` of the same leads (a score not computed yet is
        -1, on which a condition holds as on no number: only its change counts)
    :param conditions: (field, operator, constant) triples, ``field`` a column of the scores:
        ``operator`` of :data:`SCORE_COMPARISONS` with a number (numbers for ``in``), or
        ``None``: any change of the field counts
    """
    flipped = np.zeros(len(old), dtype=bool)
    for field, operator, constant in conditions:
        before, after = getattr(old, field), getattr(new, field)
        if operator is None:
            flipped |= before != after
            continue
        compare = SCORE_COMPARISONS[operator]
        missing = (before < 0) | (after < 0)
        flipped |= np.where(missing, before != after, compare(before, constant) != compare(after, constant))
    return flipped


def changed_values(old, new, manual):
    """Where a dimension's value changes: rules differ from the stored value and the
    value was not set by a user.

    :param old, new: (n, d) value indexes; ``manual``: (n, d) bools
    :return: (n, d) bools
    """
    return (np.asarray(old) != np.asarray(new)) & ~np.asarray(manual, dtype=bool)


def cell_codes(dimensions, values, keys):
    """Label codes of changed cells, all dimensions at once.

    :param dimensions: (n,) dimension index of each cell
    :param values: (n,) value of each cell in its dimension (``NO_VALUE`` for none)
    :param keys: per dimension, the sorted array of its values that have a label;
        the labels of all dimensions are concatenated in that order
    :return: (n,) 1-based positions in that concatenation, 0 for ``NO_VALUE``
    """
    dimensions = np.asarray(dimensions, dtype=np.int64)
    values = np.asarray(values, dtype=np.int64)
    offsets = np.cumsum([0] + [len(dimension_keys) for dimension_keys in keys[:-1]])
    codes = np.zeros(len(values), dtype=np.int64)
    for dimension, dimension_keys in enumerate(keys):  # a few dimensions; each vectorised
        cells = (dimensions == dimension) & (values != NO_VALUE)
        dimension_keys = np.asarray(dimension_keys, dtype=np.int64)
        positions = np.searchsorted(dimension_keys, values[cells])
        known = positions < len(dimension_keys)
        known[known] = dimension_keys[positions[known]] == values[cells][known]
        if not known.all():
            raise ValueError(f'a value of dimension {dimension} has no label')
        codes[cells] = offsets[dimension] + positions + 1
    return codes


@dataclasses.dataclass(frozen=True, eq=False)
class DimensionValues(Columns):
    """The value of each single-valued dimension of a chunk of leads; each column (n,) int64:
    the industry's id, or the position of the value among its selection's; ``NO_VALUE`` for none."""

    industry: np.ndarray
    company_size: np.ndarray
    job_level: np.ndarray
    source_type: np.ndarray
    sales_stage_class: np.ndarray
    intent_level: np.ndarray
    lifecycle_stage: np.ndarray


# the single-valued dimensions, in the order of the columns of DimensionValues (its matrices'
# columns, RuleValues.dimension); with the classes, those of ChangedCells.dimension
VALUE_DIMENSIONS = DimensionValues.column_names()
DIMENSIONS = (*VALUE_DIMENSIONS, "class")


@dataclasses.dataclass(frozen=True, eq=False)
class ClassificationState(Columns):
    """What is stored of a chunk of leads before they are classified; each column (n,).

    * ``id``: the lead's id;
    * ``industry`` ... ``lifecycle_stage``: its values, as in :class:`DimensionValues`;
    * ``industry_manual`` ... ``class_manual``: bool, the dimension was set by hand;
    * ``score_dirty``: bool, the lead was written since it was last classified;
    * ``employee_count``, ``annual_revenue``: the measures of its size, 0 for none.
    """

    _DTYPES = {**dict.fromkeys([f"{name}_manual" for name in DIMENSIONS], bool), "score_dirty": bool}

    id: np.ndarray
    industry: np.ndarray
    company_size: np.ndarray
    job_level: np.ndarray
    source_type: np.ndarray
    sales_stage_class: np.ndarray
    intent_level: np.ndarray
    lifecycle_stage: np.ndarray
    industry_manual: np.ndarray
    company_size_manual: np.ndarray
    job_level_manual: np.ndarray
    source_type_manual: np.ndarray
    sales_stage_class_manual: np.ndarray
    intent_level_manual: np.ndarray
    lifecycle_stage_manual: np.ndarray
    class_manual: np.ndarray
    score_dirty: np.ndarray
    employee_count: np.ndarray
    annual_revenue: np.ndarray

    def values(self):
        """The stored values, as :class:`DimensionValues`."""
        return DimensionValues(**{name: getattr(self, name) for name in VALUE_DIMENSIONS})

    def frozen(self, dimension, stable):
        """(n,) bool: the leads whose ``dimension`` (one of :data:`DIMENSIONS`) the pass leaves as it
        is: set by hand, or, for a dimension of ``stable``, not written since last classified."""
        manual = getattr(self, f"{dimension}_manual")
        return manual | ~self.score_dirty if dimension in stable else manual


@dataclasses.dataclass(frozen=True, eq=False)
class RuleValues(Columns):
    """What each rule of the single-valued dimensions gives, one row per rule in priority order;
    each column (r,) int64: ``dimension``, its position in :data:`VALUE_DIMENSIONS`; ``value``,
    the value it gives (as in :class:`DimensionValues`)."""

    dimension: np.ndarray
    value: np.ndarray


@dataclasses.dataclass(frozen=True)
class ClassificationConfig:
    """Settings of :func:`classify_values`.

    * ``employee_thresholds``, ``revenue_thresholds``: (medium from, large from), see :func:`company_size`;
    * ``stable``: the dimensions whose values the leads not written since last classified keep;
    * ``dimensions``: the single-valued dimensions this pass sets (None: all of them); the
      others keep their values, the company size included.
    """

    employee_thresholds: tuple
    revenue_thresholds: tuple
    stable: frozenset = frozenset()
    dimensions: frozenset | None = None


def classify_values(state, matches, rules, config):
    """The single-valued dimensions of a chunk of leads: the value of the first matching rule, the
    company size measured where no rule gives one, the stored value kept in a dimension no rule
    sets and where the lead's value is frozen (:meth:`ClassificationState.frozen`).

    :param state: :class:`ClassificationState`
    :param matches: (n, r) bools, the leads that match each rule of ``rules``
    :param rules: :class:`RuleValues`
    :param config: :class:`ClassificationConfig`
    :return: (the values after the pass, :class:`DimensionValues`; (n, d) bools, the values that
        changed, columns in the order of :data:`VALUE_DIMENSIONS`)
    """
    old = state.values()
    new = DimensionValues.from_matrix(
        first_match_values(matches, rules.dimension, rules.value, len(VALUE_DIMENSIONS)))
    owned = set(VALUE_DIMENSIONS) if config.dimensions is None else set(config.dimensions)
    if "company_size" in owned:
        by_measure = company_size(state.employee_count, state.annual_revenue, config.employee_thresholds,
                                  config.revenue_thresholds)
        new = dataclasses.replace(new, company_size=np.where(
            new.company_size == NO_VALUE, by_measure, new.company_size))
    # a dimension no rule sets (industry, by default) is left as it is, and so is one this pass does not set
    ruled = ({VALUE_DIMENSIONS[dimension] for dimension in rules.dimension.tolist()} | {"company_size"}) & owned
    new = dataclasses.replace(new, **{name: getattr(old, name) for name in VALUE_DIMENSIONS if name not in ruled})
    frozen = np.column_stack([state.frozen(name, config.stable) for name in VALUE_DIMENSIONS])
    changed = changed_values(old.to_matrix(), new.to_matrix(), frozen)
    return DimensionValues.from_matrix(np.where(changed, new.to_matrix(), old.to_matrix())), changed


@dataclasses.dataclass(frozen=True, eq=False)
class ChangedCells(Columns):
    """Changed values of leads, one row per lead and dimension; each column (m,) int64.

    * ``lead_id``; ``dimension``: its position in :data:`DIMENSIONS`;
    * ``old_value``, ``new_value``: as in :class:`DimensionValues`, ``NO_VALUE`` for none or
      for the classes;
    * ``old_code``, ``new_code``: the values shown, 1-based positions in ``labels``, 0 for none
      (see ``arrays.encode_labels``).

    ``labels`` (a tuple of str) is no column: the distinct labels the codes point to.
    """

    lead_id: np.ndarray
    dimension: np.ndarray
    old_value: np.ndarray
    new_value: np.ndarray
    old_code: np.ndarray
    new_code: np.ndarray
    labels: tuple = ()

    # one ChangedCells of several, their labels put end to end (the codes shifted to match)
    concatenate = classmethod(TrackingCells.concatenate.__func__)

    @classmethod
    def from_changes(cls, ids, old, new, changed):
        """The cells ``changed`` of the values ``old`` and ``new``, their labels not known yet
        (see :meth:`labelled`).

        :param ids: (n,) the leads' ids
        :param old, new: :class:`DimensionValues` of the leads
        :param changed: (n, d) bools, columns in the order of :data:`VALUE_DIMENSIONS`
        """
        lead_index, dimension = np.nonzero(changed)
        none = np.zeros(len(lead_index), dtype=np.int64)
        return cls(lead_id=np.asarray(ids)[lead_index], dimension=dimension,
                   old_value=old.to_matrix()[lead_index, dimension],
                   new_value=new.to_matrix()[lead_index, dimension], old_code=none, new_code=none)

    def labelled(self, keys, labels):
        """These cells of the single-valued dimensions, with the codes of their values' labels.

        :param keys: per dimension of :data:`VALUE_DIMENSIONS`, the sorted array of its values
            that have a label (see :func:`cell_codes`)
        :param labels: the labels of all dimensions, concatenated in that order
        """
        return dataclasses.replace(
            self, old_code=cell_codes(self.dimension, self.old_value, keys),
            new_code=cell_codes(self.dimension, self.new_value, keys), labels=tuple(labels))

    def tracking(self, field_ids):
        """These cells of the single-valued dimensions as :class:`TrackingCells`.

        :param field_ids: (d,) the ``ir.model.fields`` id of each dimension's field, in the order
            of :data:`VALUE_DIMENSIONS`
        """
        industry = self.dimension == VALUE_DIMENSIONS.index("industry")  # a many2one: its ids are tracked too
        return TrackingCells(
            res_id=self.lead_id, field_id=np.asarray(field_ids, dtype=np.int64)[self.dimension],
            old_int=np.where(industry, np.maximum(self.old_value, 0), 0),
            new_int=np.where(industry, np.maximum(self.new_value, 0), 0),
            old_code=self.old_code, new_code=self.new_code, labels=self.labels)

    def field_changes(self, fields, keys):
        """These cells of the single-valued dimensions as :class:`stages.FieldChanges`.

        :param fields: (d,) the lead field of each dimension, in the order of :data:`VALUE_DIMENSIONS`
        :param keys: per dimension, in that order, the keys of its values (a selection's, in the
            order of the value indexes), None for a dimension whose values are ids (the industry)
        """
        old = np.empty(len(self), dtype=object)
        new = np.empty(len(self), dtype=object)
        for dimension, dimension_keys in enumerate(keys):
            cells = self.dimension == dimension
            for column, values in ((old, self.old_value[cells]), (new, self.new_value[cells])):
                if dimension_keys is None:  # ids: NO_VALUE reads 0, no record
                    column[cells] = np.maximum(values, 0).astype(object)
                else:  # NO_VALUE (-1) picks the last entry: False, no value
                    column[cells] = np.array([*dimension_keys, False], dtype=object)[values]
        return FieldChanges(lead_id=self.lead_id, field=np.asarray(fields, dtype=object)[self.dimension],
                            old_value=old, new_value=new)


@dataclasses.dataclass(frozen=True, eq=False)
class ClassLinks(Columns):
    """Classes of leads, one row per (lead, class) link; each column (m,) int64: ``lead_id``, ``class_id``."""

    lead_id: np.ndarray
    class_id: np.ndarray
