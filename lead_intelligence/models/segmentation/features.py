"""The features clusters are found on, read by SQL a range of leads at a time (no model here).

Numbers: the fit and engagement scores and every behaviour counter (log-scaled: a few heavy
readers must not make a segment of their own); categories: company size, job level and source
type, one indicator column per value.
"""

import numpy as np

from odoo.tools import SQL

from ..classification.dimensions import COMPANY_SIZES, JOB_LEVELS, SOURCE_TYPES
from ..events.crm_lead import COUNTER_FIELDS

CATEGORIES = (('company_size', COMPANY_SIZES), ('job_level', JOB_LEVELS), ('source_type', SOURCE_TYPES))
CHUNK = 50000


def feature_names():
    """The features' names, in column order."""
    return ('fit_score', 'engagement_score', *COUNTER_FIELDS,
            *(f'{dimension}:{key}' for dimension, values in CATEGORIES for key, _label in values))


def feature_labels(env):
    """Feature name -> (words when high, words when low or None), in the user's language."""
    Lead = env['crm.lead']
    labels = {
        'fit_score': (env._('good profile fit'), env._('poor profile fit')),
        'engagement_score': (env._('highly engaged'), env._('little engagement')),
    }
    for name in COUNTER_FIELDS:
        field = Lead._fields[name].get_description(env)['string'].lower()
        labels[name] = (env._('many %(counter)s', counter=field), env._('no %(counter)s', counter=field))
    for dimension, _values in CATEGORIES:
        for key, label in Lead._fields[dimension]._description_selection(env):
            labels[f'{dimension}:{key}'] = (label, None)
    return labels


def read_chunk(env, where, after_id, limit=CHUNK):
    """(ids, won (1 won, 0 lost, -1 open), X) of the leads matching ``where`` (on ``lead``) with an id
    above ``after_id``, at most ``limit``, by id."""
    rows = env.execute_query(SQL(
        """SELECT lead.id, CASE lead.won_status WHEN 'won' THEN 1 WHEN 'lost' THEN 0 ELSE -1 END,
                  COALESCE(score.fit_score, 0), COALESCE(score.engagement_score, 0), %(counters)s, %(categories)s
             FROM crm_lead lead LEFT JOIN crm_lead_score score ON score.id = lead.score_line_id
            WHERE (%(where)s) AND lead.id > %(after)s
            ORDER BY lead.id LIMIT %(limit)s""",
        counters=SQL(', ').join(SQL('ln(1 + GREATEST(COALESCE(lead.%s, 0), 0))', SQL.identifier(name))
                                for name in COUNTER_FIELDS),
        categories=SQL(', ').join(SQL('(lead.%s = %s)::int', SQL.identifier(dimension), key)
                                  for dimension, values in CATEGORIES for key, _label in values),
        where=where, after=after_id, limit=limit))
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros((0, len(feature_names())))
    data = np.array(rows, dtype=np.float64)
    data = np.nan_to_num(data)
    return data[:, 0].astype(np.int64), data[:, 1].astype(np.int64), data[:, 2:]


def iter_chunks(env, where):
    """Every chunk of :func:`read_chunk` for ``where``, in id order."""
    after = 0
    while True:
        ids, won, X = read_chunk(env, where, after)
        if not len(ids):
            return
        yield ids, won, X
        after = int(ids[-1])
