from odoo import fields, models

from .dimensions import CLASSIFICATION_CAUSES, DIMENSIONS


class CrmLeadClassificationHistory(models.Model):
    _name = 'crm.lead.classification.history'
    _description = 'Lead Classification History'
    _order = 'date desc, id desc'
    _log_access = False  # written in bulk by SQL; date and user say when and who

    lead_id = fields.Many2one('crm.lead', required=True, index=True, ondelete='cascade')
    company_id = fields.Many2one(related='lead_id.company_id')
    date = fields.Datetime(required=True, default=fields.Datetime.now, index=True)
    user_id = fields.Many2one('res.users', 'By')
    dimension = fields.Selection(DIMENSIONS, required=True)
    old_value = fields.Char()
    new_value = fields.Char()
    cause = fields.Selection(CLASSIFICATION_CAUSES, required=True)
