"""RFM segments and ABC classes: their values, and the segment map (this module holds no model).

Each of recency, frequency and monetary value is scored 1 to 5 by quintile over the company's own
leads (or customers): ``1 + floor(5 * percent_rank)``, so that equal values share a quintile. The
segment follows the recency score R and the mean FM of the frequency and monetary scores, the
first row that holds:

==================  ===================
segment             when
==================  ===================
Champions           R ≥ 4 and FM ≥ 4
Loyal               R ≥ 3 and FM ≥ 3
New                 R ≥ 4 and FM ≤ 1
Potential Loyalist  R ≥ 4
Need Attention      R = 3
At Risk             R ≤ 2 and FM ≥ 3
Hibernating         R = 2
Lost                otherwise
==================  ===================
"""

from odoo.tools import SQL

RFM_SEGMENTS = [
    ('champions', 'Champions'), ('loyal', 'Loyal'), ('new', 'New'), ('potential', 'Potential Loyalist'),
    ('need_attention', 'Need Attention'), ('at_risk', 'At Risk'), ('hibernating', 'Hibernating'), ('lost', 'Lost'),
]
ABC_CLASSES = [('a', 'A'), ('b', 'B'), ('c', 'C')]


def sorted_values(value):
    """SQL aggregate: the values ``value`` of the group, sorted (with :func:`quintile_cuts`, by
    ``GROUP BY`` the partition)."""
    return SQL('array_agg(%s ORDER BY %s)', value, value)


def quintile_cuts(values, count):
    """SQL: the four cut points of the quintiles of the sorted array ``values`` of ``count`` values,
    as a list of four expressions (to be selected as four columns).

    ``percent_rank`` scores a value 1 + floor(5 * c / (n - 1)), c the number of values below it:
    it scores at least k + 1 exactly when c >= ceil(k * (n - 1) / 5) = m, that is when it is
    above the m-th smallest value. Sorting each kind of value alone and comparing each row with
    four cuts gives the window function's quintiles without sorting the rows (a single value,
    n = 1: no cut, quintile 1).
    """
    return [SQL('(%s)[(%s * (%s - 1) + 4) / 5]', values, k, count) for k in range(1, 5)]


def quintile(value, cuts):
    """SQL: the quintile 1-5 of ``value`` by its partition's four ``cuts`` (:func:`quintile_cuts`);
    ascending, equal values sharing one, as ``percent_rank`` gives them."""
    return SQL('(1 + %s)', SQL(' + ').join(SQL('COALESCE(%s > %s, FALSE)::int', value, cut) for cut in cuts))


def segment(recency, frequency, monetary):
    """SQL: the RFM segment of the scores (SQL expressions), by the map of the module's docstring."""
    fm = SQL('((%s + %s) / 2.0)', frequency, monetary)
    return SQL(
        """CASE WHEN %(r)s >= 4 AND %(fm)s >= 4 THEN 'champions'
                WHEN %(r)s >= 3 AND %(fm)s >= 3 THEN 'loyal'
                WHEN %(r)s >= 4 AND %(fm)s <= 1 THEN 'new'
                WHEN %(r)s >= 4 THEN 'potential'
                WHEN %(r)s = 3 THEN 'need_attention'
                WHEN %(fm)s >= 3 THEN 'at_risk'
                WHEN %(r)s = 2 THEN 'hibernating'
                ELSE 'lost' END""", r=recency, fm=fm)
