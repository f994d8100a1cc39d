from odoo import fields, models


class CrmLeadTuningHistory(models.Model):
    """A change a tuning applied: what, from what to what, by whom, when and why."""

    _name = 'crm.lead.tuning.history'
    _description = 'Lead Scoring Tuning Change'
    _order = 'date desc, id desc'

    tuning_id = fields.Many2one('crm.lead.tuning', required=True, ondelete='cascade', index=True, readonly=True)
    company_id = fields.Many2one(related='tuning_id.company_id', store=True)
    date = fields.Datetime(default=fields.Datetime.now, required=True, readonly=True)
    user_id = fields.Many2one('res.users', 'Applied By', default=lambda self: self.env.user, required=True,
                              readonly=True)
    fit_rule_id = fields.Many2one('crm.lead.fit.rule', 'Rule', ondelete='set null', readonly=True)
    event_type_id = fields.Many2one('crm.lead.event.type', ondelete='set null', readonly=True)
    tier_id = fields.Many2one('crm.lead.tier', ondelete='set null', readonly=True)
    name = fields.Char('Changed', required=True, readonly=True)
    old_value = fields.Float('Before', readonly=True)
    new_value = fields.Float('After', readonly=True)
    reason = fields.Text('Why', readonly=True)
