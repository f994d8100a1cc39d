"""19.0.1.14.0: the classification history's lead loses its foreign key, as the score history's did
in 19.0.1.13.0 (see ``models/log_fields.py``): a pass that moves many leads' intent or lifecycle
logs a row for each. Odoo keeps a foreign key a field no longer asks for: it is dropped here, with
its record in ``ir_model_constraint``."""

FOREIGN_KEY = 'crm_lead_classification_history_lead_id_fkey'


def migrate(cr, version):
    cr.execute(f'ALTER TABLE crm_lead_classification_history DROP CONSTRAINT IF EXISTS {FOREIGN_KEY}')
    cr.execute("DELETE FROM ir_model_constraint WHERE type = 'f' AND name = %s", [FOREIGN_KEY])
