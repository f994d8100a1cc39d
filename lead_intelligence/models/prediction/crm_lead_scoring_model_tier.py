from odoo import fields, models


class CrmLeadScoringModelTier(models.Model):
    """How the validation leads of a model convert per tier, the tiers cut on the model's score."""

    _name = 'crm.lead.scoring.model.tier'
    _description = 'Lead Scoring Model Tier Statistics'
    _order = 'model_id, min_score desc'

    model_id = fields.Many2one('crm.lead.scoring.model', required=True, ondelete='cascade', index=True)
    company_id = fields.Many2one(related='model_id.company_id', store=True)
    tier_id = fields.Many2one('crm.lead.tier', 'Current Tier', ondelete='set null')
    # as they were at training time: the tier may change since
    name = fields.Char('Tier', required=True, help="The tier's name when the model was trained.")
    min_score = fields.Integer('Minimum Score')
    count = fields.Integer('Leads')
    conversion_rate = fields.Float(digits=(16, 3),
                                   help="Share of the tier's validation leads that were won.")
    lift = fields.Float(digits=(16, 2), help="The tier's conversion rate over the conversion rate of all leads.")
