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


def quintile(order_by, partition_by):
    """SQL: the quintile 1-5 of the row in its partition, ascending by ``order_by`` (ties share one)."""
    return SQL('LEAST(5, 1 + floor(5 * percent_rank() OVER (PARTITION BY %s ORDER BY %s)))::int',
               partition_by, order_by)


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
