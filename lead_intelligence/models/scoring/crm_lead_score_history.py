from odoo import api, fields, models

from ..log_fields import UncheckedMany2one, delete_all_dangling

SCORE_CAUSES = [
    ('lead', 'Lead changed'),
    ('event', 'New behaviour'),
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

    # no index of its own: the (lead_id, date) index of the trends (insight/) serves the lead's rows;
    # the lead and the tiers unchecked by the database (see UncheckedMany2one): the lead's and the
    # tiers' unlink carry out their ondelete, the autovacuum what another deletion left
    lead_id = UncheckedMany2one('crm.lead', required=True, ondelete='cascade')
    company_id = fields.Many2one(related='lead_id.company_id')
    date = fields.Datetime(required=True, default=fields.Datetime.now, index=True)
    user_id = fields.Many2one('res.users', string='By', help="The user who asked for the change; empty for the jobs.")
    cause = fields.Selection(SCORE_CAUSES, required=True)
    old_fit_score = fields.Integer()
    new_fit_score = fields.Integer()
    old_score = fields.Integer()
    new_score = fields.Integer()
    old_engagement_score = fields.Integer()
    new_engagement_score = fields.Integer()
    score_delta = fields.Integer('Score Change', aggregator='avg')
    old_tier_id = UncheckedMany2one('crm.lead.tier', ondelete='set null')
    new_tier_id = UncheckedMany2one('crm.lead.tier', ondelete='set null')
    tier_changed = fields.Boolean()

    @api.autovacuum
    def _gc_dangling_references(self):
        """The rows of leads deleted other than by ``unlink`` (by SQL, or while a pass logged
        them) deleted, the tiers deleted so emptied."""
        delete_all_dangling(self.env, self._name)
