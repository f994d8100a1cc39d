"""19.0.1.9.0: the score history and the topic interests lose their index on the lead alone, the
salespeople's capacities theirs on the member alone. The history's (lead_id, date) index, the
interests' unique (lead_id, topic_id) and the capacities' unique (member_id, tier_id) start with the
same column and serve the same lookups; the shorter index only cost every insert (a nightly pass
that records every open lead's new fit score writes 340,000 history rows: 0.7 s of 7 s for it).

Odoo keeps an index a field no longer asks for: it is dropped here.
"""

from odoo.tools import SQL


def migrate(cr, version):
    for index in ('crm_lead_score_history__lead_id_index', 'crm_lead_topic_interest__lead_id_index',
                  'crm_team_member_capacity__member_id_index'):
        cr.execute(SQL('DROP INDEX IF EXISTS %s', SQL.identifier(index)))
