from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..engine import scoring

SETTINGS_DEFAULTS = {
    'fit_mapping': 'linear',
    'fit_points_low': 0,
    'fit_points_high': 100,
    'weight_fit': 100,
    'score_on_save': 'now',
}
PARAM_PREFIX = 'lead_intelligence.'


class ResConfigSettings(models.TransientModel):
    _inherit = 'res.config.settings'

    lead_intelligence_fit_mapping = fields.Selection(
        [('linear', 'Linear'), ('logistic', 'S-curve')], string='Fit Points to Score',
        default=SETTINGS_DEFAULTS['fit_mapping'], config_parameter=PARAM_PREFIX + 'fit_mapping',
        help="Linear: the floor gives 0 and the ceiling 100, clipped outside. "
             "S-curve: a smooth curve from about 5 at the floor to about 95 at the ceiling.")
    lead_intelligence_fit_points_low = fields.Integer(
        'Fit Points Floor', default=SETTINGS_DEFAULTS['fit_points_low'],
        config_parameter=PARAM_PREFIX + 'fit_points_low')
    lead_intelligence_fit_points_high = fields.Integer(
        'Fit Points Ceiling', default=SETTINGS_DEFAULTS['fit_points_high'],
        config_parameter=PARAM_PREFIX + 'fit_points_high')
    lead_intelligence_weight_fit = fields.Integer(
        'Profile Fit Weight', default=SETTINGS_DEFAULTS['weight_fit'],
        config_parameter=PARAM_PREFIX + 'weight_fit',
        help="Weight of the profile-fit score in the lead score.")
    lead_intelligence_score_on_save = fields.Selection(
        [('now', 'At once'), ('batch', 'By the scoring job')], string='Score Edited Leads',
        default=SETTINGS_DEFAULTS['score_on_save'], config_parameter=PARAM_PREFIX + 'score_on_save',
        help="At once: a lead saved in its form is rescored before the form reloads. "
             "By the scoring job: within minutes, like imports and other large writes.")

    @api.constrains('lead_intelligence_fit_points_low', 'lead_intelligence_fit_points_high',
                    'lead_intelligence_weight_fit')
    def _check_lead_intelligence_settings(self):
        for settings in self:
            if settings.lead_intelligence_fit_points_high <= settings.lead_intelligence_fit_points_low:
                raise ValidationError(self.env._(
                    'The fit points ceiling (%(high)s) must be above the floor (%(low)s).',
                    high=settings.lead_intelligence_fit_points_high, low=settings.lead_intelligence_fit_points_low))
            if settings.lead_intelligence_weight_fit <= 0:
                raise ValidationError(self.env._('The profile fit weight must be positive.'))

    def set_values(self):
        keys = ('fit_mapping', 'fit_points_low', 'fit_points_high', 'weight_fit')
        before = self._get_lead_intelligence_settings()
        res = super().set_values()
        if any(before[key] != self._get_lead_intelligence_settings()[key] for key in keys):
            self.env['crm.lead']._trigger_full_rescore()
        return res

    @api.model
    def _get_lead_intelligence_settings(self):
        """Read and check the scoring settings stored as system parameters.

        :raise UserError: a parameter was set to a value scoring cannot use (for
            instance edited by hand in the system parameters)
        """
        # sudo: every user whose lead is scored reads these global parameters
        params = self.env['ir.config_parameter'].sudo()
        values = {}
        for key, default in SETTINGS_DEFAULTS.items():
            raw = params.get_param(PARAM_PREFIX + key, default)
            try:
                values[key] = type(default)(raw)
            except (TypeError, ValueError) as error:
                raise UserError(self.env._(
                    'The system parameter %(key)s holds %(value)r, which is not a valid value.',
                    key=PARAM_PREFIX + key, value=raw)) from error
        if values['fit_mapping'] not in scoring.FIT_MAPPINGS or values['score_on_save'] not in ('now', 'batch') \
                or values['fit_points_high'] <= values['fit_points_low'] or values['weight_fit'] <= 0:
            raise UserError(self.env._(
                'The Lead Intelligence settings are inconsistent (%s): fix them in CRM settings.', values))
        return values
