from odoo import fields, models


class CrmLeadAccountHistory(models.Model):
    """One change of an account's score or tier, written in bulk by the account roll-up."""

    _name = 'crm.lead.account.history'
    _description = 'Account Score History'
    _order = 'date desc, id desc'
    _log_access = False

    partner_id = fields.Many2one('res.partner', 'Account', required=True, index=True, ondelete='cascade')
    company_id = fields.Many2one(related='partner_id.company_id', store=True)
    date = fields.Datetime(required=True, readonly=True)
    old_score = fields.Integer('Previous Score', readonly=True)
    new_score = fields.Integer('Score', readonly=True)
    old_tier_id = fields.Many2one('crm.lead.tier', 'Previous Tier', readonly=True)
    new_tier_id = fields.Many2one('crm.lead.tier', 'Tier', readonly=True)
    role_count = fields.Integer('Engaged Buying Roles', readonly=True)
