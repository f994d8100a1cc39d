"""The SQL writes of ``crm_lead_event``, the behaviour event log, whoever logs: the API and
imports, Odoo's own sources (emails, activities, meetings) and the bridges (page views, mailings).

``(source, company_id, external_id)`` is unique: an event logged again is left out
(``ON CONFLICT DO NOTHING``), so that a source may send or scan the same events twice. An
event is logged for its lead's company, or for the current company when the lead is shared
by all; its type is given by its code, and an unknown or archived code logs nothing. A new
event that is not flagged is queued for counting in the same statement.
"""

from odoo.tools import SQL

from ...engine import behaviour
from . import crm_lead_event_queue


def _event_company(env):
    """SQL of the company an event is logged for, from its lead ``lead``."""
    return SQL('COALESCE(lead.company_id, %s)', env.company.id)


def insert_events(env, events, source):
    """Log events in one statement, the ones already logged left out, and queue the new ones
    that are not flagged.

    Rows are inserted in the order of their keys, so that two batches sharing
    events wait for each other instead of deadlocking.

    :param events: an :class:`engine.events.IncomingEvents`
    :param source: the source they come from (``crm.lead.event``'s ``source``)
    :return: the set of the positions in ``events`` of the events logged (of an
        event repeated in ``events``, the first one at most)
    """
    return {position - 1 for (position,) in env.execute_query(SQL(
        """WITH incoming AS (
               SELECT v.*, t.id AS type_id, %(company)s AS company_id
                 FROM unnest(%(leads)s::int[], %(codes)s::varchar[], %(dates)s::timestamp[],
                             %(ids)s::varchar[], %(values)s::float8[], %(urls)s::varchar[], %(reasons)s::varchar[])
                      WITH ORDINALITY AS v(lead_id, code, occurred_at, external_id, value, url, reason, n)
                 JOIN crm_lead_event_type t ON t.code = v.code AND t.active
                 JOIN crm_lead lead ON lead.id = v.lead_id  -- a lead deleted meanwhile: nothing to log
           ), logged AS (
               INSERT INTO crm_lead_event (lead_id, type_id, occurred_at, source, company_id, external_id, value,
                                           url, filter_reason)
               SELECT lead_id, type_id, occurred_at, %(source)s, company_id, external_id, value, url, reason
                 FROM incoming ORDER BY company_id, external_id, n
               ON CONFLICT (source, company_id, external_id) DO NOTHING
               RETURNING id, lead_id, type_id, occurred_at, value, filter_reason, company_id, external_id
           ), queued AS (
               %(queue)s
           )
           SELECT min(incoming.n) FROM logged
             JOIN incoming USING (company_id, external_id) GROUP BY logged.id""",
        source=source, company=_event_company(env), queue=crm_lead_event_queue.enqueue_sql(SQL('logged')),
        leads=events.lead_id.tolist(), codes=events.code.tolist(), dates=events.occurred_at.tolist(),
        ids=events.external_id.tolist(), values=events.value.tolist(), urls=events.url.tolist(),
        reasons=events.filter_reason.tolist(),
    ))}


def insert_selected_events(env, select, source, with_=None):
    """Log the events a query selects, in one statement, the ones already logged left out.

    They are not queued: the caller queues the ids returned
    (:func:`crm_lead_event_queue.enqueue`).

    :param select: SQL of a query whose columns are ``lead_id``, ``code`` (of the
        event type), ``occurred_at``, ``external_id`` and ``url`` (cut to the longest kept)
    :param source: the source they come from (``crm.lead.event``'s ``source``)
    :param with_: SQL of common table expressions ``select`` reads (``name AS (...), ...``), or None
    :return: the ids of the events logged (list of int)
    """
    return [event_id for (event_id,) in env.execute_query(SQL(
        """%(ctes)s
           INSERT INTO crm_lead_event (lead_id, type_id, occurred_at, source, company_id, external_id, url)
           SELECT selected.lead_id, t.id, selected.occurred_at, %(source)s, %(company)s, selected.external_id,
                  left(selected.url, %(max_url)s)
             FROM (%(select)s) selected
             JOIN crm_lead lead ON lead.id = selected.lead_id
             JOIN crm_lead_event_type t ON t.code = selected.code AND t.active
           ON CONFLICT (source, company_id, external_id) DO NOTHING
           RETURNING id""",
        ctes=SQL('WITH %s', with_) if with_ is not None else SQL(), source=source, company=_event_company(env),
        select=select, max_url=behaviour.MAX_URL))]


def set_filter_reasons(env, event_ids, reasons):
    """Record why the events ``event_ids`` are not counted (list of int; ``reasons``: their stored codes)."""
    env.execute_query(SQL(
        """UPDATE crm_lead_event SET filter_reason = v.reason
             FROM unnest(%s::int[], %s::varchar[]) AS v(id, reason) WHERE crm_lead_event.id = v.id""",
        event_ids, reasons))


def move_to_lead(env, lead_id, from_lead_ids):
    """The events of the leads ``from_lead_ids`` become the lead ``lead_id``'s (merged leads).

    :return: the ids of those moved that are not flagged (list of int)
    """
    moved = [event_id for (event_id,) in env.execute_query(SQL(
        """UPDATE crm_lead_event SET lead_id = %s WHERE lead_id = ANY(%s) AND filter_reason IS NULL RETURNING id""",
        lead_id, list(from_lead_ids)))]
    env.execute_query(SQL(
        'UPDATE crm_lead_event SET lead_id = %s WHERE lead_id = ANY(%s)', lead_id, list(from_lead_ids)))
    return moved
