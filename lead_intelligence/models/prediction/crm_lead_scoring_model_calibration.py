from odoo import fields, models


class CrmLeadScoringModelCalibration(models.Model):
    """Predicted probability against observed win rate, per decile of a model's validation leads."""

    _name = 'crm.lead.scoring.model.calibration'
    _description = 'Lead Scoring Model Calibration'
    _order = 'model_id, decile'

    model_id = fields.Many2one('crm.lead.scoring.model', required=True, ondelete='cascade', index=True)
    company_id = fields.Many2one(related='model_id.company_id', store=True)
    decile = fields.Integer(required=True, help="1: the tenth of the validation leads with the lowest probabilities.")
    predicted = fields.Float('Predicted Win Rate', digits=(16, 3), aggregator='avg')
    observed = fields.Float('Observed Win Rate', digits=(16, 3), aggregator='avg')
    count = fields.Integer('Leads')
