"""19.0.1.4.0 refuses an active rule without a condition unless "Applies to Every Lead" is ticked.

The rules saved before without a condition (the shipped "the others" classification rules
among them) applied to every lead: they are marked so, and keep doing it.
"""

from odoo.tools import SQL


def migrate(cr, version):
    if not version:
        return
    for table in ('crm_lead_fit_rule', 'crm_lead_classification_rule', 'crm_lead_routing_rule'):
        cr.execute(SQL(
            r"UPDATE %s SET match_all = TRUE WHERE coalesce(regexp_replace(domain, '\s', '', 'g'), '') IN ('', '[]')",
            SQL.identifier(table)))
