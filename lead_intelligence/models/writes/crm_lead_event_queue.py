"""The SQL writes of ``crm_lead_event_queue``, the events waiting to be counted.

An event is queued with the columns counting reads (so that counting never
reads the log but for the context of caps and bursts), unless it is flagged;
the counting job takes it off the queue when it counts it (the claim).
"""

import psycopg2

from odoo.tools import SQL

from ...engine import arrays


def enqueue_sql(events, condition=None):
    """SQL queuing the events of the relation ``events`` that are not flagged, those already
    queued left out: the statement :func:`enqueue` runs, also run as a part of a larger one.

    :param events: SQL of a relation with the columns of ``crm_lead_event``: the log itself, or
        the rows an INSERT into it returns
    :param condition: SQL of a condition on its rows, or None for all
    """
    return SQL(
        """INSERT INTO crm_lead_event_queue (event_id, lead_id, type_id, occurred_at, value)
           SELECT id, lead_id, type_id, occurred_at, value FROM %s
            WHERE filter_reason IS NULL%s
           ON CONFLICT (event_id) DO NOTHING""",
        events, SQL(' AND %s', condition) if condition is not None else SQL())


def enqueue(env, event_ids):
    """Queue the logged events ``event_ids`` (list of int) for counting, the flagged ones excepted."""
    env.execute_query(enqueue_sql(SQL.identifier('crm_lead_event'), SQL('id = ANY(%s)', list(event_ids))))


def claim(env, event_ids):
    """Take the events ``event_ids`` ((n,) int) off the queue, to count them.

    In REPEATABLE READ, an event another transaction took off since this one's
    snapshot makes the DELETE fail to serialize, so an event is never counted twice.

    :raise psycopg2.errors.SerializationFailure: some events were no longer queued
    """
    env.cr.execute(SQL('DELETE FROM crm_lead_event_queue WHERE event_id = ANY(%s::int[])',
                       arrays.int_array_literal(event_ids)))
    if env.cr.rowcount != len(event_ids):
        raise psycopg2.errors.SerializationFailure('events were counted since they were read')


def move_to_lead(env, lead_id, from_lead_ids):
    """The queued events of the leads ``from_lead_ids`` become the lead ``lead_id``'s (merged leads)."""
    env.execute_query(SQL(
        'UPDATE crm_lead_event_queue SET lead_id = %s WHERE lead_id = ANY(%s)', lead_id, list(from_lead_ids)))
