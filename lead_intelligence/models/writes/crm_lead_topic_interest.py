"""The SQL writes of ``crm_lead_topic_interest`` (each lead's decayed events per content topic)
and of the leads' top topics (``crm_lead_topic_rel``)."""

from odoo.tools import SQL

from ...engine import arrays, behaviour

# a lead's topics: its best ones, while their weight decayed to now is at least this
TOP_TOPICS = 3
MIN_WEIGHT = 0.1


def _matches(patterns):
    """SQL of (event_id, topic_id) pairs of the counted events ``e`` (an alias) and the topics: by
    page pattern (``patterns``: [(topic id, LIKE pattern, on the path)]) and by event type."""
    by_type = SQL(
        """SELECT e.id AS event_id, rel.topic_id
             FROM events e
             JOIN crm_lead_topic_event_type_rel rel ON rel.type_id = e.type_id
             JOIN crm_lead_topic topic ON topic.id = rel.topic_id AND topic.active""")
    if not patterns:
        return by_type
    values = SQL(', ').join(SQL('(%s, %s, %s)', topic_id, pattern, on_path) for topic_id, pattern, on_path in patterns)
    return SQL(
        """%(by_type)s
           UNION
           SELECT e.id, p.topic_id
             FROM events e
             JOIN (VALUES %(values)s) AS p(topic_id, pattern, on_path)
               ON CASE WHEN p.on_path THEN regexp_replace(e.url, '^[a-zA-Z][a-zA-Z0-9+.-]*://[^/]*', '')
                       ELSE e.url END LIKE p.pattern
            WHERE e.url IS NOT NULL""", by_type=by_type, values=values)


def _decay(units, since, until, half_life):
    """SQL: ``units`` decayed from ``since`` to ``until`` with ``half_life`` days."""
    return SQL('%s * power(0.5, GREATEST(extract(epoch FROM (%s - %s)), 0) / %s / %s)',
               units, until, since, behaviour.SECONDS_PER_DAY, half_life)


def fold(env, event_ids, patterns):
    """Add the counted events ``event_ids`` (list or (n,) int) to their leads' interest in each of their topics, in one
    statement (an event is one unit, decayed with the topic's half-life to the latest event of the
    lead and topic). Returns the number of (lead, topic) rows written."""
    if not event_ids:
        return 0
    env.cr.execute(SQL(
        """WITH events AS (SELECT id, lead_id, type_id, url, occurred_at FROM crm_lead_event
                            WHERE id = ANY(%(ids)s::int[])),
           matched AS (%(matches)s),
           refs AS (
               SELECT e.lead_id, m.topic_id, max(e.occurred_at) AS ref
                 FROM matched m JOIN events e ON e.id = m.event_id GROUP BY e.lead_id, m.topic_id),
           sums AS (
               SELECT e.lead_id, m.topic_id, sum(%(decayed)s) AS units, refs.ref
                 FROM matched m JOIN events e ON e.id = m.event_id
                 JOIN refs ON refs.lead_id = e.lead_id AND refs.topic_id = m.topic_id
                 JOIN crm_lead_topic topic ON topic.id = m.topic_id
                GROUP BY e.lead_id, m.topic_id, refs.ref)
           INSERT INTO crm_lead_topic_interest AS old (lead_id, topic_id, units, ref_date)
           SELECT lead_id, topic_id, units, ref FROM sums
           ON CONFLICT (lead_id, topic_id) DO UPDATE
              SET units = %(old)s + %(new)s, ref_date = GREATEST(old.ref_date, EXCLUDED.ref_date)""",
        ids=arrays.int_array_literal(event_ids), matches=_matches(patterns),
        decayed=_decay(SQL('1.0'), SQL('e.occurred_at'), SQL('refs.ref'), SQL('topic.half_life')),
        old=_decay(SQL('old.units'), SQL('old.ref_date'), SQL('GREATEST(old.ref_date, EXCLUDED.ref_date)'),
                   SQL('(SELECT half_life FROM crm_lead_topic WHERE id = old.topic_id)')),
        new=_decay(SQL('EXCLUDED.units'), SQL('EXCLUDED.ref_date'), SQL('GREATEST(old.ref_date, EXCLUDED.ref_date)'),
                   SQL('(SELECT half_life FROM crm_lead_topic WHERE id = old.topic_id)'))))
    return env.cr.rowcount


def rebuild(env, patterns):
    """Every lead's interest recomputed from the event log's counted events, in one statement: the
    only time the log is rescanned for topics (the topics or their pages changed)."""
    env.cr.execute(SQL(
        """DELETE FROM crm_lead_topic_interest;
           WITH events AS (
               SELECT e.id, e.lead_id, e.type_id, e.url, e.occurred_at FROM crm_lead_event e
                WHERE e.filter_reason IS NULL
                  AND NOT EXISTS (SELECT 1 FROM crm_lead_event_queue q WHERE q.event_id = e.id)),
           matched AS (%(matches)s),
           refs AS (
               SELECT e.lead_id, m.topic_id, max(e.occurred_at) AS ref
                 FROM matched m JOIN events e ON e.id = m.event_id GROUP BY e.lead_id, m.topic_id)
           INSERT INTO crm_lead_topic_interest (lead_id, topic_id, units, ref_date)
           SELECT e.lead_id, m.topic_id, sum(%(decayed)s), refs.ref
             FROM matched m JOIN events e ON e.id = m.event_id
             JOIN refs ON refs.lead_id = e.lead_id AND refs.topic_id = m.topic_id
             JOIN crm_lead_topic topic ON topic.id = m.topic_id
            GROUP BY e.lead_id, m.topic_id, refs.ref""",
        matches=_matches(patterns),
        decayed=_decay(SQL('1.0'), SQL('e.occurred_at'), SQL('refs.ref'), SQL('topic.half_life'))))


def _weight(now):
    """SQL: the weight of an ``interest`` row of a ``topic`` (aliases) decayed to ``now``, by which
    the top topics are ranked and kept (:func:`set_top_topics`, :func:`drop_faded_topics`)."""
    return _decay(SQL('interest.units'), SQL('interest.ref_date'), SQL('%s::timestamp', now), SQL('topic.half_life'))


def set_top_topics(env, lead_ids, now):
    """Give the leads ``lead_ids`` (None: every lead with interest or topics) their top topics by the
    weight of their interest decayed to ``now`` (the server's time, UTC, as Odoo's code reads it);
    three statements, writing only the links that change.

    :return: the ids of the leads whose top topics changed (a set)
    """
    scope = SQL('TRUE') if lead_ids is None else SQL('lead_id = ANY(%s)', list(lead_ids))
    if lead_ids is None:
        # every lead: a few large statements, which JIT compilation slows (see writes/rfm.py)
        env.cr.execute("SET LOCAL jit = off")
    env.cr.execute(SQL(
        """CREATE TEMP TABLE IF NOT EXISTS lead_intelligence_top_topics (lead_id int, topic_id int) ON COMMIT DROP;
           TRUNCATE lead_intelligence_top_topics;
           INSERT INTO lead_intelligence_top_topics
           SELECT lead_id, topic_id FROM (
               SELECT interest.lead_id, interest.topic_id,
                      row_number() OVER (PARTITION BY interest.lead_id ORDER BY %(weight)s DESC,
                                         interest.topic_id) AS position, %(weight)s AS weight
                 FROM crm_lead_topic_interest interest
                 JOIN crm_lead_topic topic ON topic.id = interest.topic_id AND topic.active
                WHERE %(scope)s) ranked
            WHERE position <= %(top)s AND weight >= %(min)s""",
        weight=_weight(now),
        scope=scope, top=TOP_TOPICS, min=MIN_WEIGHT))
    removed = env.execute_query(SQL(
        """DELETE FROM crm_lead_topic_rel rel
            WHERE %s AND NOT EXISTS (SELECT 1 FROM lead_intelligence_top_topics top
                                      WHERE top.lead_id = rel.lead_id AND top.topic_id = rel.topic_id)
        RETURNING rel.lead_id""", scope))
    # the new links only: an anti-join, not a conflict checked per kept link (1M leads: 0.7 s -> 0.2 s)
    added = env.execute_query(SQL(
        """INSERT INTO crm_lead_topic_rel (lead_id, topic_id)
           SELECT lead_id, topic_id FROM lead_intelligence_top_topics top
            WHERE NOT EXISTS (SELECT 1 FROM crm_lead_topic_rel rel
                               WHERE rel.lead_id = top.lead_id AND rel.topic_id = top.topic_id)
           ON CONFLICT DO NOTHING
        RETURNING lead_id"""))
    return {lead_id for (lead_id,) in removed + added}


def drop_faded_topics(env, now):
    """Unlink the top topics whose interest, decayed to ``now``, weighs under :data:`MIN_WEIGHT`, in one
    statement; what :func:`set_top_topics` gives every lead when the active topics share one
    half-life and nothing but time moved since the leads' top topics were set (see
    ``crm.lead._refresh_top_topics``).

    :return: the ids of the leads whose top topics changed (a set)
    """
    removed = env.execute_query(SQL(
        """DELETE FROM crm_lead_topic_rel rel
            USING crm_lead_topic_interest interest, crm_lead_topic topic
            WHERE interest.lead_id = rel.lead_id AND interest.topic_id = rel.topic_id AND topic.id = rel.topic_id
              AND %(weight)s < %(min)s
        RETURNING rel.lead_id""",
        weight=_weight(now),
        min=MIN_WEIGHT))
    return {lead_id for (lead_id,) in removed}
