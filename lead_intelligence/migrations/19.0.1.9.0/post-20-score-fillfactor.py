"""19.0.1.9.0: ``crm_lead_score`` keeps half of each page free (see its ``init``), so that the
passes' updates of the scores are HOT. The setting applies to the pages written from now on: the
table is rewritten here once, its rows ordered by id (the order the passes read them in)."""

from odoo.tools import SQL


def migrate(cr, version):
    cr.execute(SQL('CLUSTER crm_lead_score USING crm_lead_score_pkey'))
    cr.execute(SQL('ANALYZE crm_lead_score'))
