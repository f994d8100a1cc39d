"""The SQL writes of ``crm_lead_segment_identity``: which lead an anonymous Segment visitor is,
per company (``(company_id, anonymous_id)`` is unique)."""

from odoo.tools import SQL


def identify(env, anonymous_ids, lead_ids):
    """Record that the visitors ``anonymous_ids`` are the leads ``lead_ids`` (aligned lists), in the
    current company, in one statement; a visitor identified again is the new lead's."""
    if anonymous_ids:
        env.execute_query(SQL(
            """INSERT INTO crm_lead_segment_identity (anonymous_id, lead_id, company_id, identified_at)
               SELECT v.anonymous_id, v.lead_id, %s, now() AT TIME ZONE 'UTC'
                 FROM unnest(%s::varchar[], %s::int[]) AS v(anonymous_id, lead_id) ORDER BY v.anonymous_id
               ON CONFLICT (company_id, anonymous_id)
               DO UPDATE SET lead_id = EXCLUDED.lead_id, identified_at = EXCLUDED.identified_at""",
            env.company.id, list(anonymous_ids), list(lead_ids)))


def leads_of(env, anonymous_ids):
    """The lead of each identified visitor of ``anonymous_ids`` in the current company: {anonymous id: lead id}."""
    if not anonymous_ids:
        return {}
    return dict(env.execute_query(SQL(
        """SELECT anonymous_id, lead_id FROM crm_lead_segment_identity
            WHERE company_id = %s AND anonymous_id = ANY(%s)""", env.company.id, list(anonymous_ids))))
