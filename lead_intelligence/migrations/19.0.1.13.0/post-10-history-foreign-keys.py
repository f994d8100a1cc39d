"""19.0.1.13.0: the score history's lead and tiers lose their foreign keys (see
``models/log_fields.py``: a pass logging every open lead's new fit score paid two thirds of its
insert for them). Odoo keeps a foreign key a field no longer asks for: they are dropped here, with
their record in ``ir_model_constraint``. Rows a deletion left dangling since are removed by the
history's autovacuum."""

from odoo.tools import SQL

FOREIGN_KEYS = ('crm_lead_score_history_lead_id_fkey', 'crm_lead_score_history_old_tier_id_fkey',
                'crm_lead_score_history_new_tier_id_fkey')


def migrate(cr, version):
    for name in FOREIGN_KEYS:
        cr.execute(SQL('ALTER TABLE crm_lead_score_history DROP CONSTRAINT IF EXISTS %s', SQL.identifier(name)))
    cr.execute(SQL("DELETE FROM ir_model_constraint WHERE type = 'f' AND name = ANY(%s)", list(FOREIGN_KEYS)))
