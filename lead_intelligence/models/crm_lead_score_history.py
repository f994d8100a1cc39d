from odoo import fields, models

SCORE_CAUSES = [
    ('lead', 'Lead changed'),
    ('user', 'Edited by a user'),
    ('config', 'Scoring configuration changed'),
    ('nightly', 'Nightly pass'),
    ('manual', 'Recomputed on request'),
]


class CrmLeadScoreHistory(models.Model):
    _name = 'crm.lead.score.history'
    _description = 'Lead Score History'
    _order = 'date desc, id desc'
    _log_access = False  # rows are written in bulk by SQL; `date` and `user_id` say when and who

    lead_id = fields.Many2one('crm.lead', string='Lead', required=True, index=True, ondelete='cascade')
    company_id = fields.Many2one('res.company', string='Company', index=True)
    date = fields.Datetime('Date', required=True, default=fields.Datetime.now, index=True)
    user_id = fields.Many2one('res.users', string='By', default=lambda self: self.env.user)
    cause = fields.Selection(SCORE_CAUSES, string='Cause', required=True)
    old_fit_score = fields.Integer('Old Fit Score')
    new_fit_score = fields.Integer('New Fit Score')
    old_score = fields.Integer('Old Score')
    new_score = fields.Integer('New Score')
    score_delta = fields.Integer('Score Change', aggregator='avg')
    old_tier_id = fields.Many2one('crm.lead.tier', string='Old Tier', ondelete='set null')
    new_tier_id = fields.Many2one('crm.lead.tier', string='New Tier', ondelete='set null', index=True)
    tier_changed = fields.Boolean('Tier Changed')
