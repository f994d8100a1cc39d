"""Vectorised classification: first matching rule per dimension, company size, changes.

Pure numpy, no Odoo import. Rules arrive as a leads x rules match matrix (see
``scoring.unpack_matches``) with, per rule, its dimension and the index of the
value it gives; leads get, per dimension, the value of the first matching rule
in rule order, all dimensions at once.
"""

import numpy as np

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
