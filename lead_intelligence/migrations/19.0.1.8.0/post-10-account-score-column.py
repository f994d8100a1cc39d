"""19.0.1.8.0: a lead's account score is read through its contact (the account's own field), no
longer copied on the lead: the copy's column goes. The copy of the account's tier stays."""

from odoo.tools import SQL


def migrate(cr, version):
    cr.execute(SQL('ALTER TABLE crm_lead DROP COLUMN IF EXISTS account_score'))
