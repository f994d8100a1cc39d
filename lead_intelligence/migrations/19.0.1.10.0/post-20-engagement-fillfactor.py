"""19.0.1.10.0: ``crm_lead_engagement`` keeps half of each page free (see its ``init``), so that the
event job's updates of the sums are HOT; the table is rewritten once for its existing pages."""

from odoo.tools import SQL


def migrate(cr, version):
    cr.execute(SQL('CLUSTER crm_lead_engagement USING crm_lead_engagement_lead_type_uniq'))
    cr.execute(SQL('ANALYZE crm_lead_engagement'))
