"""The SQL writes of ``crm_lead_engagement``, the decayed sums of each lead's counted events
by event type (see ``engine.behaviour.accumulate``).

A sum is the units of its counted events, each decayed with its type's half-life to
``ref_date``, the latest of them; the events still queued are not in it yet.
"""

from odoo.tools import SQL

from ...engine import arrays, behaviour


def decayed_units_sql(event, event_type, ref):
    """SQL of what a logged event adds to its lead's engagement, decayed to
    the time ``ref``: its units (``behaviour.event_units``) times its decay
    (``behaviour.decay_factor``). A product, so it can follow a ``*``.

    :param event, event_type: aliases of its ``crm_lead_event`` row and its type's row
    :param ref: SQL of the reference time
    """
    return SQL(
        """CASE WHEN %(type)s = 'minute' THEN COALESCE(%(value)s, 0) / %(minute)s ELSE 1 END
           * CASE WHEN %(half_life)s > 0
                  THEN power(0.5, GREATEST(extract(epoch FROM (%(ref)s - %(occurred_at)s)), 0)
                                  / %(day)s / %(half_life)s)
                  ELSE 1 END""",
        type=SQL.identifier(event_type, 'points_per'), value=SQL.identifier(event, 'value'),
        half_life=SQL.identifier(event_type, 'half_life'), occurred_at=SQL.identifier(event, 'occurred_at'),
        ref=ref, minute=behaviour.SECONDS_PER_MINUTE, day=behaviour.SECONDS_PER_DAY)


def upsert(env, sums):
    """Store the sums ``sums`` (an :class:`engine.events.EngagementSums`), in one statement."""
    env.execute_query(SQL(
        """INSERT INTO crm_lead_engagement (lead_id, type_id, units, ref_date)
           SELECT v.lead_id, v.type_id, v.units, to_timestamp(v.ref) AT TIME ZONE 'UTC'
             FROM unnest(%s::int[], %s::int[], %s::float8[], %s::float8[]) AS v(lead_id, type_id, units, ref)
           ON CONFLICT (lead_id, type_id) DO UPDATE SET units = EXCLUDED.units, ref_date = EXCLUDED.ref_date""",
        arrays.int_array_literal(sums.lead_id), arrays.int_array_literal(sums.type_id),
        arrays.float_array_literal(sums.units), arrays.float_array_literal(sums.ref)))


def rebuild(env, type_ids):
    """Recompute from the event log the sums of the event types ``type_ids`` (list of int), in one
    statement: the only time the log is rescanned (a type's half-life changed)."""
    env.execute_query(SQL(
        """DELETE FROM crm_lead_engagement WHERE type_id = ANY(%(types)s);
           INSERT INTO crm_lead_engagement (lead_id, type_id, units, ref_date)
           SELECT e.lead_id, e.type_id,
                  sum(%(units)s),
                  m.ref
             FROM crm_lead_event e
             JOIN crm_lead_event_type t ON t.id = e.type_id
             JOIN (SELECT lead_id, type_id, max(occurred_at) AS ref FROM crm_lead_event c
                    WHERE type_id = ANY(%(types)s) AND filter_reason IS NULL
                      AND NOT EXISTS (SELECT 1 FROM crm_lead_event_queue q WHERE q.event_id = c.id)
                    GROUP BY lead_id, type_id) m
               ON m.lead_id = e.lead_id AND m.type_id = e.type_id
            WHERE e.type_id = ANY(%(types)s) AND e.filter_reason IS NULL
              AND NOT EXISTS (SELECT 1 FROM crm_lead_event_queue q WHERE q.event_id = e.id)
            GROUP BY e.lead_id, e.type_id, m.ref""",
        types=list(type_ids), units=decayed_units_sql('e', 't', SQL('m.ref'))))
