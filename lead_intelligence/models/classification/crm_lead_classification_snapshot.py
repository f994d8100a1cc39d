from odoo import fields, models

from .dimensions import DIMENSIONS


class CrmLeadClassificationSnapshot(models.Model):
    """How many open leads had each value of each dimension on a day: the quality check
    compares a day's shares with the previous snapshot's."""

    _name = 'crm.lead.classification.snapshot'
    _description = 'Lead Classification Snapshot'
    _order = 'date desc, dimension, value'
    _log_access = False  # written in bulk by SQL by the quality check

    date = fields.Date(required=True, index=True)
    dimension = fields.Selection(DIMENSIONS, required=True)
    value = fields.Char(help="Empty: the open leads without a value.")
    count = fields.Integer(required=True)
    company_id = fields.Many2one('res.company', index=True, ondelete='cascade')
