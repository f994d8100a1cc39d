from odoo import api, fields, models
from odoo.exceptions import AccessError


class CrmLeadScoringModelTrainWizard(models.TransientModel):
    """Shows the history a model would learn from, and queues its training in the background."""

    _name = 'crm.lead.scoring.model.train.wizard'
    _description = 'Train a Lead Scoring Model'

    company_id = fields.Many2one('res.company', required=True, readonly=True, default=lambda self: self.env.company)
    won_count = fields.Integer('Won Leads', compute='_compute_history')
    lost_count = fields.Integer('Lost Leads', compute='_compute_history')
    min_won = fields.Integer('Won Leads Needed', compute='_compute_history')
    min_lost = fields.Integer('Lost Leads Needed', compute='_compute_history')
    window_days = fields.Integer('Training Window (Days)', compute='_compute_history')
    enough_history = fields.Boolean(compute='_compute_history')
    active_model_id = fields.Many2one('crm.lead.scoring.model', compute='_compute_history')
    training_id = fields.Many2one('crm.lead.scoring.model.training', 'Training Under Way', compute='_compute_history')

    @api.depends('company_id')
    def _compute_history(self):
        settings = self.env['res.config.settings']._get_lead_intelligence_settings()
        ScoringModel = self.env['crm.lead.scoring.model']
        for wizard in self:
            # counted by SQL: for a company the user works in only (the field is set by RPC too)
            if not self.env.su and wizard.company_id not in self.env.companies:
                raise AccessError(self.env._('You may look at the lead history of your own companies only.'))
            won, lost = ScoringModel._get_history_counts(wizard.company_id)
            wizard.won_count, wizard.lost_count = won, lost
            wizard.min_won, wizard.min_lost = settings['model_min_won'], settings['model_min_lost']
            wizard.window_days = settings['model_window_days']
            wizard.enough_history = won >= wizard.min_won and lost >= wizard.min_lost
            wizard.active_model_id = ScoringModel._get_active_model(wizard.company_id)
            wizard.training_id = self.env['crm.lead.scoring.model.training'].search([
                ('company_id', '=', wizard.company_id.id), ('state', 'in', ('queued', 'running'))], limit=1)

    def action_train(self):
        """Queue a training (or follow the one under way) and open it: the training job runs it at once."""
        self.ensure_one()
        training = self.env['crm.lead.scoring.model.training']._request(self.company_id)
        return training._get_form_action()
