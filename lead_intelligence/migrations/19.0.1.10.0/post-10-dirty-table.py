"""19.0.1.10.0: the dirty flag leaves ``crm_lead`` for ``crm_lead_dirty`` (created by the model's
``init``, with the triggers that now fill it): the leads flagged are carried over, then the column
goes, with its partial index. Clearing a flag no longer rewrites the lead's row."""

from odoo.tools import SQL


def migrate(cr, version):
    cr.execute(SQL(
        """SELECT 1 FROM information_schema.columns WHERE table_name = 'crm_lead' AND column_name = 'score_dirty'"""))
    if not cr.fetchone():
        return
    cr.execute(SQL(
        """INSERT INTO crm_lead_dirty (lead_id) SELECT id FROM crm_lead WHERE score_dirty
           ON CONFLICT (lead_id) DO NOTHING"""))
    cr.execute(SQL('ALTER TABLE crm_lead DROP COLUMN score_dirty'))
