"""The SQL writes of ``crm_lead_segment_event``, the Segment calls of anonymous visitors waiting
for an ``identify`` call. ``(company_id, message_id)`` is unique: a call sent twice waits once.
"""

from odoo.tools import SQL


def stage(env, anonymous_ids, codes, dates, message_ids, values, urls, reasons):
    """Keep calls of anonymous visitors for the current company, in one statement; those already
    kept are left out, and so are those of an unknown or archived event type code.

    :param anonymous_ids: the visitors' ``anonymousId`` (list of str); the other columns alike:
        event type codes, dates (naive UTC), message ids, values (float or None), URLs, filter
        reason codes (str or None)
    :return: the set of the positions of the calls kept (of a call repeated, the first one at most)
    """
    return {position - 1 for (position,) in env.execute_query(SQL(
        """WITH incoming AS (
               SELECT v.*, t.id AS type_id
                 FROM unnest(%(anonymous)s::varchar[], %(codes)s::varchar[], %(dates)s::timestamp[],
                             %(messages)s::varchar[], %(values)s::float8[], %(urls)s::varchar[], %(reasons)s::varchar[])
                      WITH ORDINALITY AS v(anonymous_id, code, occurred_at, message_id, value, url, reason, n)
                 JOIN crm_lead_event_type t ON t.code = v.code AND t.active
           ), kept AS (
               INSERT INTO crm_lead_segment_event (anonymous_id, type_id, occurred_at, message_id, value, url,
                                                   filter_reason, company_id, received_at)
               SELECT anonymous_id, type_id, occurred_at, message_id, value, url, reason, %(company)s,
                      now() AT TIME ZONE 'UTC'
                 FROM incoming ORDER BY message_id, n
               ON CONFLICT (company_id, message_id) DO NOTHING
               RETURNING message_id
           )
           SELECT min(incoming.n) FROM kept JOIN incoming USING (message_id) GROUP BY kept.message_id""",
        anonymous=anonymous_ids, codes=codes, dates=dates, messages=message_ids, values=values, urls=urls,
        reasons=reasons, company=env.company.id))}


def take(env, anonymous_ids):
    """Take the kept calls of the visitors ``anonymous_ids`` (current company) out, to log them.

    :return: rows (anonymous id, event type code, date, message id, value, URL, filter reason code)
    """
    return env.execute_query(SQL(
        """DELETE FROM crm_lead_segment_event s USING crm_lead_event_type t
            WHERE t.id = s.type_id AND s.company_id = %s AND s.anonymous_id = ANY(%s)
        RETURNING s.anonymous_id, t.code, s.occurred_at, s.message_id, s.value, s.url, s.filter_reason""",
        env.company.id, list(anonymous_ids)))


def delete_received_before(env, date):
    """Forget the calls received before ``date`` (naive UTC) whose visitor was never identified."""
    env.execute_query(SQL('DELETE FROM crm_lead_segment_event WHERE received_at < %s', date))
