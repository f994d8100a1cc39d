from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..engine import behaviour, scoring
from .classification.crm_lead_completeness import COMPLETENESS_CANDIDATES, COMPLETENESS_PARAM

SETTINGS_DEFAULTS = {
    'fit_mapping': 'linear',
    'fit_points_low': 0,
    'fit_points_high': 100,
    'weight_fit': 60,
    'weight_engagement': 40,
    'weight_model': 30,
    'model_min_won': 20,
    'model_min_lost': 20,
    'model_window_days': 730,
    'model_recency_half_life_days': 0,
    'model_increasing_behaviour': True,
    'engagement_points_high': 100,
    'score_on_save': 'now',
    'min_dwell': 5,
    'burst_count': 20,
    'burst_seconds': 10,
    'api_create_leads': False,
    'api_max_events': 1000,
    'bot_user_agents': '',
    'size_employees_medium': 50,
    'size_employees_large': 1000,
    'size_revenue_medium': 10000000,
    'size_revenue_large': 100000000,
    'alert_rule_idle_days': 30,
    'alert_share_factor': 2.0,
    'alert_missing_share': 50,
    'trend_window_days': 14,
    # quality gates of a trained model, and our probability as the lead's (issue 15)
    'model_min_valid_leads': 30,
    'model_min_valid_won': 10,
    'model_min_valid_lost': 10,
    'model_min_auc': 0.6,
    'model_win_probability': True,
    'account_engagement_days': 90,
    'account_role_points': 10,
    'rfm_window_days': 90,
    'abc_window_days': 365,
    'abc_a_share': 80,
    'abc_b_share': 15,
}
# settings that move scores: changing them rescores every open lead
RESCORE_KEYS = ('fit_mapping', 'fit_points_low', 'fit_points_high', 'weight_fit', 'weight_engagement', 'weight_model',
                'engagement_points_high', 'size_employees_medium', 'size_employees_large', 'size_revenue_medium',
                'size_revenue_large')
PARAM_PREFIX = 'lead_intelligence.'


class ResConfigSettings(models.TransientModel):
    _inherit = 'res.config.settings'

    lead_intelligence_fit_mapping = fields.Selection(
        [('linear', 'Linear'), ('logistic', 'S-curve')], string='Fit Points to Score',
        default=SETTINGS_DEFAULTS['fit_mapping'],
        help="Linear: the floor gives 0 and the ceiling 100, clipped outside. "
             "S-curve: a smooth curve from about 5 at the floor to about 95 at the ceiling.")
    lead_intelligence_fit_points_low = fields.Integer(
        'Fit Points Floor', default=SETTINGS_DEFAULTS['fit_points_low'])
    lead_intelligence_fit_points_high = fields.Integer(
        'Fit Points Ceiling', default=SETTINGS_DEFAULTS['fit_points_high'])
    lead_intelligence_weight_fit = fields.Integer(
        'Profile Fit Weight', default=SETTINGS_DEFAULTS['weight_fit'],
        help="Weight of the profile-fit score in the lead score.")
    lead_intelligence_weight_engagement = fields.Integer(
        'Engagement Weight', default=SETTINGS_DEFAULTS['weight_engagement'],
        help="Weight of the behaviour (engagement) score in the lead score.")
    lead_intelligence_weight_model = fields.Integer(
        'Model Weight', default=SETTINGS_DEFAULTS['weight_model'],
        help="Weight of the predictive model's score in the lead score, once a model is active for the company. "
             "Without an active model the score blends profile fit and engagement only.")
    lead_intelligence_model_min_won = fields.Integer(
        'Minimum Won Leads', default=SETTINGS_DEFAULTS['model_min_won'],
        help="A model is trained only from this many won leads closed within the training window.")
    lead_intelligence_model_min_lost = fields.Integer(
        'Minimum Lost Leads', default=SETTINGS_DEFAULTS['model_min_lost'],
        help="A model is trained only from this many lost leads closed within the training window.")
    lead_intelligence_model_window_days = fields.Integer(
        'Training Window (Days)', default=SETTINGS_DEFAULTS['model_window_days'],
        help="The model learns from the leads won or lost in this many last days.")
    lead_intelligence_model_recency_half_life_days = fields.Integer(
        'Recent Leads Weigh More (Half-Life, Days)', default=SETTINGS_DEFAULTS['model_recency_half_life_days'],
        help="When training, a lead closed this many days before the newest closed lead counts half as much, "
             "twice as long a quarter: the model follows a business that changes. 0 weighs every lead alike.")
    lead_intelligence_model_increasing_behaviour = fields.Boolean(
        'Behaviour Never Lowers the Prediction', default=SETTINGS_DEFAULTS['model_increasing_behaviour'],
        help="When training, more visits, downloads, replies, meetings or buying signals can only raise a lead's "
             "predicted chance, even where the history says otherwise (leads chased hardest are often the hardest "
             "ones). Off: the model follows the history.")
    lead_intelligence_model_status = fields.Char('Model Status', compute='_compute_lead_intelligence_model_status')
    lead_intelligence_engagement_points_high = fields.Integer(
        'Engagement Points for 100', default=SETTINGS_DEFAULTS['engagement_points_high'],
        help="Decayed engagement points that make an engagement score of 100; fewer points scale linearly.")
    lead_intelligence_min_dwell = fields.Integer(
        'Minimum Visit Time (s)', default=SETTINGS_DEFAULTS['min_dwell'],
        help="A visit shorter than this is kept in the log but not counted: likely an accident or a bot.")
    lead_intelligence_burst_count = fields.Integer(
        'Burst: Events', default=SETTINGS_DEFAULTS['burst_count'],
        help="This many events of one lead within the burst window are a burst: the ones completing it are "
             "kept but not counted. 0: no burst filter.")
    lead_intelligence_burst_seconds = fields.Integer(
        'Burst: Window (s)', default=SETTINGS_DEFAULTS['burst_seconds'])
    lead_intelligence_api_create_leads = fields.Boolean(
        'Create Leads for Unknown Emails',
        help="An event sent to the API for an email that no lead has creates a new lead; otherwise the event "
             "is rejected.")
    lead_intelligence_api_max_events = fields.Integer(
        'Events per API Request', default=SETTINGS_DEFAULTS['api_max_events'],
        help="Larger batches are refused with HTTP 413.")
    lead_intelligence_bot_user_agents = fields.Char(
        'More Bot User Agents',
        help="A regular expression (separate patterns with |) of user agents to treat as bots, besides the "
             "known crawlers, monitors and HTTP libraries; matched case-insensitively.")
    lead_intelligence_score_on_save = fields.Selection(
        [('now', 'At once'), ('batch', 'By the scoring job')], string='Score Edited Leads',
        default=SETTINGS_DEFAULTS['score_on_save'],
        help="At once: a lead saved in its form is rescored before the form reloads. "
             "By the scoring job: within seconds of the save, in the background, like imports and other large writes.")

    lead_intelligence_size_employees_medium = fields.Integer(
        'Medium Company from (Employees)', default=SETTINGS_DEFAULTS['size_employees_medium'])
    lead_intelligence_size_employees_large = fields.Integer(
        'Large Company from (Employees)', default=SETTINGS_DEFAULTS['size_employees_large'])
    lead_intelligence_size_revenue_medium = fields.Integer(
        'Medium Company from (Revenue)', default=SETTINGS_DEFAULTS['size_revenue_medium'],
        help="Annual revenue, in the company's currency, from which a lead's company is medium-sized.")
    lead_intelligence_size_revenue_large = fields.Integer(
        'Large Company from (Revenue)', default=SETTINGS_DEFAULTS['size_revenue_large'])
    lead_intelligence_alert_rule_idle_days = fields.Integer(
        'Idle Rule after (Days)', default=SETTINGS_DEFAULTS['alert_rule_idle_days'],
        help="An active classification rule that gave its value to no lead for this many days is reported. "
             "0: no check.")
    lead_intelligence_alert_share_factor = fields.Float(
        'Share Change Factor', default=SETTINGS_DEFAULTS['alert_share_factor'], digits=(16, 2),
        help="A value whose share of the open leads grows or shrinks by more than this factor from one daily "
             "check to the next is reported. 1 or less: no check.")
    lead_intelligence_alert_missing_share = fields.Integer(
        'Unclassified Leads (%)', default=SETTINGS_DEFAULTS['alert_missing_share'],
        help="A dimension that more than this percentage of the open leads have no value of is reported. "
             "100: no check.")

    @api.constrains('lead_intelligence_fit_points_low', 'lead_intelligence_fit_points_high',
                    'lead_intelligence_weight_fit', 'lead_intelligence_weight_engagement',
                    'lead_intelligence_engagement_points_high', 'lead_intelligence_min_dwell',
                    'lead_intelligence_burst_count', 'lead_intelligence_burst_seconds',
                    'lead_intelligence_api_max_events', 'lead_intelligence_bot_user_agents',
                    'lead_intelligence_size_employees_medium', 'lead_intelligence_size_employees_large',
                    'lead_intelligence_size_revenue_medium', 'lead_intelligence_size_revenue_large',
                    'lead_intelligence_weight_model', 'lead_intelligence_model_min_won',
                    'lead_intelligence_model_min_lost', 'lead_intelligence_model_window_days',
                    'lead_intelligence_model_recency_half_life_days')
    def _check_lead_intelligence_settings(self):
        for settings in self:
            if settings.lead_intelligence_weight_model < 0:
                raise ValidationError(self.env._('The score weights cannot be negative.'))
            if min(settings.lead_intelligence_model_min_won, settings.lead_intelligence_model_min_lost) < 2 \
                    or settings.lead_intelligence_model_window_days < 1:
                raise ValidationError(self.env._(
                    'A model needs at least 2 won and 2 lost leads and a training window of at least a day.'))
            if settings.lead_intelligence_model_recency_half_life_days < 0:
                raise ValidationError(self.env._(
                    'The half-life of recent leads is a number of days, or 0 to weigh every lead alike.'))
            if settings.lead_intelligence_fit_points_high <= settings.lead_intelligence_fit_points_low:
                raise ValidationError(self.env._(
                    'The fit points ceiling (%(high)s) must be above the floor (%(low)s).',
                    high=settings.lead_intelligence_fit_points_high, low=settings.lead_intelligence_fit_points_low))
            weights = (settings.lead_intelligence_weight_fit, settings.lead_intelligence_weight_engagement)
            if min(weights) < 0 or not sum(weights):
                raise ValidationError(self.env._(
                    'The score weights cannot be negative, and at least one must be positive.'))
            if settings.lead_intelligence_engagement_points_high <= 0:
                raise ValidationError(self.env._('The engagement points for a score of 100 must be positive.'))
            if min(settings.lead_intelligence_min_dwell, settings.lead_intelligence_burst_count,
                   settings.lead_intelligence_burst_seconds) < 0:
                raise ValidationError(self.env._(
                    'The minimum visit time and the burst filter cannot be negative.'))
            if not 1 <= settings.lead_intelligence_api_max_events <= 10000:
                raise ValidationError(self.env._('The events per API request must be between 1 and 10,000.'))
            employees = (settings.lead_intelligence_size_employees_medium,
                         settings.lead_intelligence_size_employees_large)
            revenue = (settings.lead_intelligence_size_revenue_medium, settings.lead_intelligence_size_revenue_large)
            if not 0 < employees[0] < employees[1] or not 0 < revenue[0] < revenue[1]:
                raise ValidationError(self.env._(
                    'Company sizes: the thresholds must be positive, the large one above the medium one.'))
            try:
                behaviour.bot_matcher(settings.lead_intelligence_bot_user_agents)
            except ValueError as error:
                raise ValidationError(self.env._('The bot user agents are not valid: %s', error)) from error

    @api.depends('company_id')
    def _compute_lead_intelligence_model_status(self):
        ScoringModel = self.env['crm.lead.scoring.model']
        settings = self._read_lead_intelligence_params()
        for record in self:
            company = record.company_id or self.env.company
            active = ScoringModel._get_active_model(company)
            if active.load_error:
                record.lead_intelligence_model_status = active.load_error
                continue
            if active:
                record.lead_intelligence_model_status = self.env._(
                    'Active model: %(name)s, trained on %(date)s, ROC AUC %(auc).3f on %(count)s newer leads.',
                    name=active.name, date=fields.Date.to_string(active.create_date), auc=active.roc_auc,
                    count=active.n_valid)
                continue
            won, lost = ScoringModel._get_history_counts(company)
            if won < settings['model_min_won'] or lost < settings['model_min_lost']:
                record.lead_intelligence_model_status = self.env._(
                    'No model: too little history, %(won)s won / %(lost)s lost leads in the last %(days)s days, '
                    'need %(min_won)s won and %(min_lost)s lost. Scores use profile fit and engagement only.',
                    won=won, lost=lost, days=settings['model_window_days'], min_won=settings['model_min_won'],
                    min_lost=settings['model_min_lost'])
            else:
                record.lead_intelligence_model_status = self.env._(
                    'No active model yet: %(won)s won / %(lost)s lost leads are enough to train one (Train Model, '
                    'or the weekly job). Scores use profile fit and engagement until then.', won=won, lost=lost)

    @api.model
    def get_values(self):
        # not ``config_parameter=``: Odoo drops a parameter set to 0 and reads
        # the default back, and 0 is a meaningful weight, minimum or burst size
        res = super().get_values()
        values = self._read_lead_intelligence_params()
        res.update({f'lead_intelligence_{key}': value for key, value in values.items()})
        return res

    def set_values(self):
        before = self._get_lead_intelligence_settings()
        res = super().set_values()
        # sudo: writing the settings' own parameters, as Odoo's config_parameter fields do
        params = self.env['ir.config_parameter'].sudo()
        for key, default in SETTINGS_DEFAULTS.items():
            value = self[f'lead_intelligence_{key}']
            params.set_param(PARAM_PREFIX + key, str(value) if not isinstance(default, str) else (value or '').strip())
        after = self._get_lead_intelligence_settings()
        if any(before[key] != after[key] for key in RESCORE_KEYS):
            self.env['crm.lead']._trigger_full_rescore()
        if before['model_win_probability'] != after['model_win_probability']:
            self.env['crm.lead']._on_model_win_probability_changed()
        if any(before[key] != after[key] for key in ('account_engagement_days', 'account_role_points')):
            self.env['crm.lead']._refresh_account_scores()
        if any(before[key] != after[key] for key in ('rfm_window_days', 'abc_window_days', 'abc_a_share',
                                                     'abc_b_share')):
            self.env['crm.lead']._refresh_rfm()
        return res

    @api.model
    def _read_lead_intelligence_params(self):
        """The settings as stored, each parameter that cannot be read replaced by its default."""
        # sudo: as in _get_lead_intelligence_settings
        params = self.env['ir.config_parameter'].sudo()
        values = {}
        for key, default in SETTINGS_DEFAULTS.items():
            try:
                raw = params.get_param(PARAM_PREFIX + key, default)
                values[key] = self._parse_lead_intelligence_param(raw, default)
            except (TypeError, ValueError):
                values[key] = default
        return values

    @api.model
    def _parse_lead_intelligence_param(self, raw, default):
        if isinstance(default, bool):
            return raw in (True, 'True', 'true', '1')
        if isinstance(default, str):
            return default if raw in (None, False) else str(raw)
        return type(default)(raw)

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
                values[key] = self._parse_lead_intelligence_param(raw, default)
            except (TypeError, ValueError) as error:
                raise UserError(self.env._(
                    'The system parameter %(key)s holds %(value)r, which is not a valid value.',
                    key=PARAM_PREFIX + key, value=raw)) from error
        if values['fit_mapping'] not in scoring.FIT_MAPPINGS or values['score_on_save'] not in ('now', 'batch') \
                or values['fit_points_high'] <= values['fit_points_low'] \
                or min(values['weight_fit'], values['weight_engagement']) < 0 \
                or values['weight_fit'] + values['weight_engagement'] <= 0 or values['engagement_points_high'] <= 0 \
                or values['weight_model'] < 0 or min(values['model_min_won'], values['model_min_lost']) < 2 \
                or values['model_window_days'] < 1 or values['model_recency_half_life_days'] < 0 \
                or min(values['min_dwell'], values['burst_count'], values['burst_seconds']) < 0 \
                or not 1 <= values['api_max_events'] <= 10000 \
                or not 0 < values['size_employees_medium'] < values['size_employees_large'] \
                or not 0 < values['size_revenue_medium'] < values['size_revenue_large'] \
                or values['account_engagement_days'] < 1 or not 0 <= values['account_role_points'] <= 100 \
                or min(values['rfm_window_days'], values['abc_window_days']) < 1 \
                or min(values['abc_a_share'], values['abc_b_share']) <= 0 \
                or values['abc_a_share'] + values['abc_b_share'] >= 100:
            raise UserError(self.env._(
                'The Lead Intelligence settings are inconsistent (%s): fix them in CRM settings.', values))
        return values

    lead_intelligence_trend_window_days = fields.Integer(
        'Score Trend Window (Days)', default=SETTINGS_DEFAULTS['trend_window_days'],
        help="A lead's score trend compares its score now with its score this many days ago: improving or "
             "declining when it moved by 5 points or more, steady otherwise. Updated each time leads are scored.")

    @api.constrains('lead_intelligence_trend_window_days')
    def _check_lead_intelligence_trend_window(self):
        if any(settings.lead_intelligence_trend_window_days < 1 for settings in self):
            raise ValidationError(self.env._('The score trend window must be at least one day.'))

    # quality gates of a trained model, and its probability as the lead's (issue 15)
    lead_intelligence_model_min_valid_leads = fields.Integer(
        'Minimum Validation Leads', default=SETTINGS_DEFAULTS['model_min_valid_leads'],
        help="A model measured on fewer of the newest closed leads than this is not activated on its own: "
             "its figures would say little.")
    lead_intelligence_model_min_valid_won = fields.Integer(
        'Minimum Won Validation Leads', default=SETTINGS_DEFAULTS['model_min_valid_won'])
    lead_intelligence_model_min_valid_lost = fields.Integer(
        'Minimum Lost Validation Leads', default=SETTINGS_DEFAULTS['model_min_valid_lost'])
    lead_intelligence_model_min_auc = fields.Float(
        'Minimum ROC AUC', digits=(16, 2), default=SETTINGS_DEFAULTS['model_min_auc'],
        help="A model that ranks the validation leads worse than this (0.5 is chance, 1 perfect) is not "
             "activated on its own.")
    lead_intelligence_model_win_probability = fields.Boolean(
        'Model Probability as Win Probability', default=SETTINGS_DEFAULTS['model_win_probability'],
        help="The active model's probability, when the model passed its quality gates, is the lead's automated "
             "probability: the one the pipeline, the forecast and the expected revenue use. A probability a "
             "salesperson sets by hand still wins. Off: Odoo's own predictive lead scoring sets it.")

    @api.constrains('lead_intelligence_model_min_valid_leads', 'lead_intelligence_model_min_valid_won',
                    'lead_intelligence_model_min_valid_lost', 'lead_intelligence_model_min_auc')
    def _check_lead_intelligence_model_gates(self):
        for settings in self:
            if min(settings.lead_intelligence_model_min_valid_leads, settings.lead_intelligence_model_min_valid_won,
                   settings.lead_intelligence_model_min_valid_lost) < 1:
                raise ValidationError(self.env._('The minimum validation leads, won and lost must be at least 1.'))
            if not 0 <= settings.lead_intelligence_model_min_auc <= 1:
                raise ValidationError(self.env._('The minimum ROC AUC must be between 0 and 1.'))
    lead_intelligence_account_engagement_days = fields.Integer(
        'Account Engagement Window (Days)', default=SETTINGS_DEFAULTS['account_engagement_days'],
        help="A lead counts as an engaged buying role of its account when its last counted event is this recent.")
    lead_intelligence_account_role_points = fields.Integer(
        'Points per Engaged Buying Role', default=SETTINGS_DEFAULTS['account_role_points'],
        help="An account's score is its best open lead's score plus these points for each buying role (decision "
             "maker, technical lead, procurement) engaged lately, 100 at most.")

    @api.constrains('lead_intelligence_account_engagement_days', 'lead_intelligence_account_role_points')
    def _check_lead_intelligence_account(self):
        for settings in self:
            if settings.lead_intelligence_account_engagement_days < 1:
                raise ValidationError(self.env._('The account engagement window must be at least one day.'))
            if not 0 <= settings.lead_intelligence_account_role_points <= 100:
                raise ValidationError(self.env._('The points per engaged buying role must be between 0 and 100.'))
    lead_intelligence_rfm_window_days = fields.Integer(
        'RFM Window (Days)', default=SETTINGS_DEFAULTS['rfm_window_days'],
        help="Frequency and monetary value count the events (leads) and the won deals (customers) of this many "
             "days.")
    lead_intelligence_abc_window_days = fields.Integer(
        'ABC Period (Days)', default=SETTINGS_DEFAULTS['abc_window_days'],
        help="Customers are ranked by their won revenue over this many days.")
    lead_intelligence_abc_a_share = fields.Integer(
        'Class A Share (%)', default=SETTINGS_DEFAULTS['abc_a_share'],
        help="Class A: the largest customers bringing this share of the won revenue.")
    lead_intelligence_abc_b_share = fields.Integer(
        'Class B Share (%)', default=SETTINGS_DEFAULTS['abc_b_share'],
        help="Class B: the next customers, bringing this share of the won revenue; C: the rest.")

    @api.constrains('lead_intelligence_rfm_window_days', 'lead_intelligence_abc_window_days',
                    'lead_intelligence_abc_a_share', 'lead_intelligence_abc_b_share')
    def _check_lead_intelligence_rfm(self):
        for settings in self:
            if min(settings.lead_intelligence_rfm_window_days, settings.lead_intelligence_abc_window_days) < 1:
                raise ValidationError(self.env._('The RFM window and the ABC period must be at least one day.'))
            if min(settings.lead_intelligence_abc_a_share, settings.lead_intelligence_abc_b_share) <= 0 \
                    or settings.lead_intelligence_abc_a_share + settings.lead_intelligence_abc_b_share >= 100:
                raise ValidationError(self.env._(
                    'The shares of classes A and B must be positive and leave some revenue to class C.'))

class ResConfigSettingsCompleteness(models.TransientModel):
    """The profile fields an administrator expects filled in: a lead's profile completeness counts them."""

    _inherit = 'res.config.settings'

    lead_intelligence_completeness_field_ids = fields.Many2many(
        'ir.model.fields', string='Expected Profile Fields',
        domain=lambda self: [('model', '=', 'crm.lead'), ('name', 'in', COMPLETENESS_CANDIDATES)],
        help="A lead's profile completeness is the share of these fields it has filled in. Changing them "
             "recomputes every lead's completeness and rescores the leads.")

    @api.model
    def get_values(self):
        res = super().get_values()
        names = self.env['crm.lead']._get_completeness_fields()
        res['lead_intelligence_completeness_field_ids'] = [(6, 0, [
            self.env['ir.model.fields']._get('crm.lead', name).id for name in names])]
        return res

    def set_values(self):
        names = sorted(self.lead_intelligence_completeness_field_ids.mapped('name'))
        if not names:
            raise ValidationError(self.env._(
                'Choose at least one expected profile field: the profile completeness counts them.'))
        res = super().set_values()
        Lead = self.env['crm.lead']
        if names != sorted(Lead._get_completeness_fields()):
            # sudo: writing the settings' own parameter, as Odoo's config_parameter fields do
            self.env['ir.config_parameter'].sudo().set_param(COMPLETENESS_PARAM, ','.join(names))
            Lead._recompute_profile_completeness()
            Lead._trigger_full_rescore()
        return res
