"""The SQL writes of ``crm_lead_score``, the narrow table of the leads' scores."""

import numpy as np

from odoo.tools import SQL

from ...engine import arrays, trend
from ...engine.stages import PROBABILITY_STEPS


def _words_sql(words):
    """The ``bigint[]`` of each row, from the (n, k) int64 bit words ``words``: per word an array
    of ``unnest``, gathered by :func:`_words_array`."""
    return SQL('').join(SQL(', %s::bigint[]', arrays.int_array_literal(words[:, index]))
                        for index in range(words.shape[1]))


def _words_array(n_words):
    """``ARRAY[v.w0, v.w1...]`` over the words :func:`_words_sql` unnests (NULL for no word)."""
    if not n_words:
        return SQL('NULL::bigint[]')
    return SQL('ARRAY[%s]', SQL(', ').join(SQL.identifier('v', f'w{index}') for index in range(n_words)))


def _words_aliases(n_words):
    return SQL('').join(SQL(', %s', SQL.identifier(f'w{index}')) for index in range(n_words))


def upsert_scores(env, ids, rows, stable_words, leads, now, trends, settled_until=None):
    """Write the scores of the leads ``ids``: their row of ``crm_lead_score``, created where missing.

    :param ids: (n,) lead ids
    :param rows: the ``engine.stages.ScoreUpdate`` of the same leads
    :param stable_words: (n, k) int64, the leads' matches of the stable fit rules as bit words
        (``engine.scoring.pack_matches``)
    :param leads: (company_ids, open_flags), (n,) int each: the leads' company (0 for none) and
        whether they are open (1) or not (0), kept with the tier beside the scores
    :param now: the time of the change
    :param trends: ``(codes, baselines, start)``: (n,) int, each lead's score trend as a position in
        ``engine.trend.TRENDS``, -1 to keep the one it has (and its baseline); (n,) int, the score
        at the window's start it was set from; the start, kept with it (None: keep no baseline)
    :param settled_until: (n,) int, the time (POSIX seconds; -1: not known) until which the new
        scores hold; None: not known
    :return: {lead id: id of its row}
    """
    n_words = stable_words.shape[1]
    if settled_until is None:
        settled_until = np.full(len(ids), -1)
    company_ids, open_flags = leads
    return dict(env.execute_query(SQL(
        """INSERT INTO crm_lead_score (lead_id, fit_score, score, engagement_score, model_score,
                                       model_probability, score_date, stable_matches, lead_company_id,
                                       lead_tier_id, lead_open, score_trend, trend_baseline, trend_start,
                                       settled_until)
           SELECT v.lead_id, v.fit_score, v.score, v.engagement_score, NULLIF(v.model_score, -1),
                  NULLIF(v.model_probability, -1) / %(steps)s::float8, %(now)s, %(stable)s, v.company_id, v.tier_id,
                  v.open::boolean, (%(trend_names)s::varchar[])[NULLIF(v.trend, -1) + 1],
                  CASE WHEN v.trend >= 0 AND %(start)s::timestamp IS NOT NULL THEN v.baseline END,
                  CASE WHEN v.trend >= 0 THEN %(start)s::timestamp END, NULLIF(v.settled, -1)
             FROM unnest(%(ids)s::int[], %(fit)s::int[], %(score)s::int[], %(engagement)s::int[],
                         %(model_score)s::int[], %(model_probability)s::int[], %(companies)s::int[],
                         %(tiers)s::int[], %(open)s::int[], %(trends)s::int[], %(baselines)s::int[],
                         %(settled)s::bigint[]%(words)s)
                  AS v(lead_id, fit_score, score, engagement_score, model_score, model_probability, company_id,
                       tier_id, open, trend, baseline, settled%(aliases)s)
           ON CONFLICT (lead_id) DO UPDATE
              SET fit_score = EXCLUDED.fit_score, score = EXCLUDED.score,
                  engagement_score = EXCLUDED.engagement_score, model_score = EXCLUDED.model_score,
                  model_probability = EXCLUDED.model_probability, score_date = EXCLUDED.score_date,
                  stable_matches = EXCLUDED.stable_matches, lead_company_id = EXCLUDED.lead_company_id,
                  lead_tier_id = EXCLUDED.lead_tier_id, lead_open = EXCLUDED.lead_open,
                  score_trend = COALESCE(EXCLUDED.score_trend, crm_lead_score.score_trend),
                  trend_baseline = CASE WHEN EXCLUDED.score_trend IS NULL THEN crm_lead_score.trend_baseline
                                        ELSE EXCLUDED.trend_baseline END,
                  trend_start = CASE WHEN EXCLUDED.score_trend IS NULL THEN crm_lead_score.trend_start
                                     ELSE EXCLUDED.trend_start END,
                  settled_until = EXCLUDED.settled_until
           RETURNING lead_id, id""",
        now=now, ids=arrays.int_array_literal(ids), fit=arrays.int_array_literal(rows.fit_score),
        score=arrays.int_array_literal(rows.score), engagement=arrays.int_array_literal(rows.engagement_score),
        model_score=arrays.int_array_literal(rows.model_score),
        model_probability=arrays.int_array_literal(rows.model_probability), steps=PROBABILITY_STEPS,
        companies=arrays.int_array_literal(company_ids), tiers=arrays.int_array_literal(rows.tier_id),
        open=arrays.int_array_literal(open_flags), trends=arrays.int_array_literal(trends[0]),
        baselines=arrays.int_array_literal(trends[1]), start=trends[2], trend_names=list(trend.TRENDS),
        settled=arrays.int_array_literal(settled_until),
        stable=_words_array(n_words), words=_words_sql(stable_words), aliases=_words_aliases(n_words),
    )))


def set_settled_until(env, ids, settled_until):
    """Keep until when the scores of the leads ``ids`` (each with its row of scores) hold.

    :param settled_until: (n,) int, POSIX seconds
    """
    env.execute_query(SQL(
        """UPDATE crm_lead_score SET settled_until = v.settled
             FROM unnest(%s::int[], %s::bigint[]) AS v(lead_id, settled)
            WHERE crm_lead_score.lead_id = v.lead_id""",
        arrays.int_array_literal(ids), arrays.int_array_literal(settled_until)))


def set_stable_matches(env, ids, stable_words, leads, tier_ids):
    """Keep the stable fit rules' matches of the leads ``ids`` (whose scores did not change), with
    their company, tier and state.

    :param ids: (n,) lead ids, each with its row of ``crm_lead_score``
    :param stable_words: (n, k) int64 bit words, as in :func:`upsert_scores`
    :param leads: (company_ids, open_flags), as in :func:`upsert_scores`
    :param tier_ids: (n,) int, the leads' tiers (0 for none)
    """
    n_words = stable_words.shape[1]
    company_ids, open_flags = leads
    env.execute_query(SQL(
        """UPDATE crm_lead_score
              SET stable_matches = %(stable)s, lead_company_id = v.company_id, lead_tier_id = v.tier_id,
                  lead_open = v.open::boolean
             FROM unnest(%(ids)s::int[], %(companies)s::int[], %(tiers)s::int[], %(open)s::int[]%(words)s)
                  AS v(lead_id, company_id, tier_id, open%(aliases)s)
            WHERE crm_lead_score.lead_id = v.lead_id""",
        ids=arrays.int_array_literal(ids), companies=arrays.int_array_literal(company_ids),
        tiers=arrays.int_array_literal(tier_ids), open=arrays.int_array_literal(open_flags),
        stable=_words_array(n_words), words=_words_sql(stable_words), aliases=_words_aliases(n_words),
    ))


def set_score_trends(env, ids, codes, baselines, start):
    """Set the score trend of the leads ``ids``, with the baseline it was set from; the rows where
    they are unchanged are left as they are.

    :param ids: (n,) int, leads with a row of scores
    :param codes: (n,) int, each lead's trend as a position in ``engine.trend.TRENDS``
    :param baselines: (n,) int, the score at the window's start each trend was set from (-1 for none)
    :param start: the window's start, kept with the baselines; None to keep none
    """
    env.execute_query(SQL(
        """UPDATE crm_lead_score
              SET score_trend = (%(trends)s::varchar[])[v.code + 1], trend_baseline = v.baseline,
                  trend_start = %(start)s::timestamp
             FROM (SELECT u.lead_id, u.code,
                          CASE WHEN %(start)s::timestamp IS NOT NULL THEN u.baseline END AS baseline
                     FROM unnest(%(ids)s::int[], %(codes)s::int[], %(baselines)s::int[])
                          AS u(lead_id, code, baseline)) v
            WHERE crm_lead_score.lead_id = v.lead_id
              AND (crm_lead_score.score_trend, crm_lead_score.trend_baseline, crm_lead_score.trend_start)
                  IS DISTINCT FROM ((%(trends)s::varchar[])[v.code + 1], v.baseline, %(start)s::timestamp)""",
        trends=list(trend.TRENDS), ids=arrays.int_array_literal(ids), codes=arrays.int_array_literal(codes),
        baselines=arrays.int_array_literal(baselines), start=start))
