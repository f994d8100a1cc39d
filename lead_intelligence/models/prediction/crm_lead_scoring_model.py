import json
import logging
import math
import time
from datetime import UTC, datetime, timedelta

import numpy as np
from markupsafe import Markup

from odoo import api, fields, models, tools
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ...engine import model as engine_model
from ...engine.model import quality
from ..events.crm_lead import COUNTER_FIELDS
from ..lead_fields import OUTCOME_FIELDS, VALUE

_logger = logging.getLogger(__name__)

ALGORITHMS = [('logreg', 'Logistic Regression'), ('hgb', 'Gradient Boosting')]
TRAIN_BATCH_SIZE = 50000  # closed leads read per query when training
TRAIN_LOCK_KEY = 0x4C49  # advisory lock namespace of model training, per company
VALID_FRACTION = 0.2  # the engine's default: the newest fifth of the closed leads validates
# share of the progress bar (percent) of each step of a training
READ_PROGRESS = (5, 40)
FIT_PROGRESS = (40, 90)
# What the model learns from: only what is known while the lead is still open.
# Counters and engagement are the lead's current ones: for a closed lead they may
# include behaviour after the outcome (an onboarding call after a win); they are
# kept because they are the strongest signal, and the time split measures the
# model on later leads rather than on the ones it learnt from.
MODEL_FEATURES = [
    engine_model.category('country_id'),
    engine_model.category('industry_id'),
    engine_model.ordinal('company_size', ['small', 'medium', 'large']),
    engine_model.category('job_level'),
    engine_model.category('source_type'),
    engine_model.category('source_id'),
    engine_model.category('medium_id'),
    engine_model.category('campaign_id'),
    engine_model.category('team_id'),
    engine_model.category('lang_id'),
    engine_model.category('email_state'),
    engine_model.category('phone_state'),
    engine_model.number('expected_revenue', log=True),
    engine_model.number('employee_count', log=True),
    engine_model.number('annual_revenue', log=True),
    *(engine_model.number(name, log=mode == VALUE) for name, mode in COUNTER_FIELDS.items()),
    # a closed lead's engagement and counters are read as they were when it closed (crm.lead._read_model_features)
    engine_model.number('engagement_score'),
    engine_model.multi('class_ids'),
]
# behaviour: with the setting on, more of it never lowers the prediction (engine.model.constraints)
INCREASING_FEATURES = (*COUNTER_FIELDS, 'engagement_score')
# Never features: the fields declared OUTCOME (lead_fields), they exist only once the
# lead is won or lost, or a salesperson sets them knowing how it goes (the stage reached,
# the closing date, the lost reason, the probability). The classes derived from the stage
# or the score (sales stage class, lifecycle, intent) carry the same information.
LEAKING_FIELDS = OUTCOME_FIELDS
# numbers where 0 means "not known" rather than zero
ZERO_IS_MISSING = ('employee_count', 'annual_revenue')
# What a training writes: the model and its figures. Nothing else writes them, not even an administrator
# (see write): the scores of a company's leads are what the model says, and the figures are the model's.
TRAINED_FIELDS = frozenset({
    'name', 'company_id', 'algorithm', 'feature_names', 'parameters', 'n_train', 'n_valid', 'n_won', 'n_lost',
    'date_from', 'date_to', 'validation_cutoff', 'training_seconds', 'roc_auc', 'pr_auc', 'brier_score',
    'logreg_auc', 'hgb_auc', 'hyperparameters', 'compared_auc', 'calibration_ids', 'tier_stat_ids',
    'n_valid_won', 'n_valid_lost', 'pls_auc', 'quality_passed', 'quality_issues', 'driver_importance',
    'calibration_method',
})
# the verdict's words by ROC AUC on the validation leads, best first
VERDICT_LEVELS = ((0.8, 'good'), (0.7, 'fair'), (0.0, 'weak'))
CALIBRATED_ERROR = 0.05  # mean gap of predicted and observed win rate per decile, at most, to say "calibrated"
SHOWN_DRIVERS = 5  # drivers named on the model's summary
# Odoo's PLS fields the comparison can read: their values are records or choices (a text or number field,
# which crm's settings allow, is left out: crm compares its text as it comes)
PLS_FIELD_TYPES = ('many2one', 'selection', 'many2many')
# crm counts "not set" as a value of these
PLS_UNSET_IS_VALUE = ('email_state', 'phone_state')


class CrmLeadScoringModel(models.Model):
    """A model trained on the company's won and lost leads; the active one scores its open leads."""

    _name = 'crm.lead.scoring.model'
    _description = 'Lead Scoring Model'
    _inherit = ['mail.thread']
    _order = 'create_date desc, id desc'

    name = fields.Char(required=True, readonly=True)
    company_id = fields.Many2one('res.company', required=True, readonly=True, index=True,
                                 default=lambda self: self.env.company)
    algorithm = fields.Selection(ALGORITHMS, required=True, readonly=True)
    state = fields.Selection(
        [('candidate', 'Candidate'), ('active', 'Active'), ('retired', 'Retired')],
        default='candidate', required=True, readonly=True, tracking=True,
        help="Active: scores the company's open leads. Candidate: trained, not as good as the active model "
             "on the same validation leads. Retired: replaced.")
    active = fields.Boolean(default=True)
    feature_names = fields.Text('Features', readonly=True, help="The lead fields the model learnt from.")
    parameters = fields.Text(
        readonly=True, groups='lead_intelligence.group_lead_intelligence_manager',
        help="The model as JSON: encoder and coefficients or trees. Loaded strictly: anything else is refused.")
    load_error = fields.Text(
        compute='_compute_load_error',
        help="Why the model cannot be used. Its company's leads are then scored on profile fit and engagement only.")
    # training data
    n_train = fields.Integer(
        'Training Leads', readonly=True,
        help="The closed leads the model was finally fitted on: every one of the window (a sample of them past "
             "250,000), the validation leads included, once its figures were measured.")
    n_valid = fields.Integer(
        'Validation Leads', readonly=True,
        help="The newest closed leads, measured on by the model fitted on the older ones only.")
    n_won = fields.Integer('Won Leads', readonly=True)
    n_lost = fields.Integer('Lost Leads', readonly=True)
    date_from = fields.Datetime('Closed From', readonly=True)
    date_to = fields.Datetime('Closed Until', readonly=True)
    validation_cutoff = fields.Datetime(
        readonly=True, help="Leads closed from this date on were kept out of training to measure the model.")
    training_seconds = fields.Float('Training Time (s)', digits=(16, 1), readonly=True)
    # validation figures, on the newest closed leads
    roc_auc = fields.Float('ROC AUC', digits=(16, 3), readonly=True, aggregator='max',
                           help="Chance that a won lead gets a higher probability than a lost one: 0.5 is random, "
                                "1 is perfect. Measured on the validation leads.")
    pr_auc = fields.Float('PR AUC', digits=(16, 3), readonly=True, aggregator='max',
                          help="Average precision over the validation leads ranked by probability.")
    brier_score = fields.Float(digits=(16, 4), readonly=True, aggregator='min',
                               help="Mean squared error of the probabilities: lower is better.")
    logreg_auc = fields.Float('Logistic Regression AUC', digits=(16, 3), readonly=True,
                              help="The best of the penalty strengths tried, its ROC AUC averaged over the time "
                                   "folds (each period of closed leads measured by a model fitted on the leads "
                                   "before it).")
    hgb_auc = fields.Float('Gradient Boosting AUC', digits=(16, 3), readonly=True,
                           help="The best of the gradient boosting settings tried, its ROC AUC averaged over the "
                                "time folds.")
    hyperparameters = fields.Char(
        readonly=True, help="The settings the kept algorithm was fitted with, chosen on the time folds.")
    calibration_method = fields.Selection(
        [('platt', 'Platt Scaling'), ('isotonic', 'Isotonic')], readonly=True,
        help="How the probabilities were mapped to the newest leads' outcomes, chosen on them by cross-fitting: "
             "Platt scaling (a slope on the log-odds) or an isotonic map (any rising curve, tried with 1,000 "
             "validation leads or more). Either way shifted to the win rate of today.")
    compared_auc = fields.Float(
        "Active Model's AUC", digits=(16, 3), readonly=True,
        help="ROC AUC of the model that was active when this one was trained, on this model's validation leads.")
    # quality gates, judged at training with the settings of the day
    n_valid_won = fields.Integer('Won Validation Leads', readonly=True)
    n_valid_lost = fields.Integer('Lost Validation Leads', readonly=True)
    pls_auc = fields.Float(
        "Odoo PLS's AUC", digits=(16, 3), readonly=True,
        help="ROC AUC of Odoo's own predictive lead scoring on the same validation leads, its frequencies "
             "rebuilt from the training leads.")
    quality_passed = fields.Boolean(
        'Passed the Quality Gates', readonly=True,
        help="Enough validation leads, won and lost among them, a ROC AUC above the minimum and at least Odoo's "
             "own predictive lead scoring's. A model that failed is never activated on its own.")
    quality_issues = fields.Text(readonly=True, help="Why the model failed its quality gates.")
    driver_importance = fields.Text(
        readonly=True, help="JSON list of [feature, ROC AUC lost when the feature is shuffled on the validation "
                            "leads], largest first: what the model relies on most.")
    summary = fields.Html(
        compute='_compute_summary', sanitize=False,
        help="What the model is worth, in a sales manager's words: its verdict, the drivers that matter most and "
             "how the validation leads convert per tier.")
    calibration_ids = fields.One2many('crm.lead.scoring.model.calibration', 'model_id', readonly=True)
    calibration_lines = fields.Json(
        compute='_compute_calibration_lines',
        help="[decile, mean predicted probability, observed win rate] of each decile of the validation leads.")
    tier_stat_ids = fields.One2many('crm.lead.scoring.model.tier', 'model_id', readonly=True)

    _active_per_company = models.UniqueIndex("(company_id) WHERE state = 'active'")

    def _compute_load_error(self):
        for record in self:
            _loaded, error = record._load_engine_model(record.id) if isinstance(record.id, int) else (None, False)
            record.load_error = error and self.env._(
                'The lead scoring model %(name)s cannot be used: %(error)s. The leads of its company are scored on '
                'profile fit and engagement only: train a new model.', name=record.name, error=error)

    @api.depends('roc_auc', 'pls_auc', 'quality_passed', 'driver_importance', 'calibration_ids', 'tier_stat_ids')
    def _compute_summary(self):
        for record in self:
            record.summary = record._summary_html() if record.n_valid else False

    @api.depends('calibration_ids')
    def _compute_calibration_lines(self):
        for record in self:
            record.calibration_lines = [[row.decile, row.predicted, row.observed] for row in record.calibration_ids]

    def _verdict(self):
        """The verdict sentence: how well the model ranks, against Odoo's probability, how calibrated."""
        self.ensure_one()
        level = next(name for floor, name in VERDICT_LEVELS if self.roc_auc >= floor)
        words = {
            'good': self.env._('Good'), 'fair': self.env._('Fair'), 'weak': self.env._('Weak'),
        }[level] if self.quality_passed else self.env._('Not trusted')
        parts = [self.env._('ranks won leads above lost ones %s times in 100', round(100 * self.roc_auc))]
        if self.pls_auc:
            points = round(100 * (self.roc_auc - self.pls_auc))
            if points > 0:
                parts.append(self.env._("better than Odoo's built-in probability by %s points", points))
            elif points < 0:
                parts.append(self.env._("worse than Odoo's built-in probability by %s points", -points))
            else:
                parts.append(self.env._("as good as Odoo's built-in probability"))
        error = quality.calibration_error([
            (row.decile, row.predicted, row.observed, row.count) for row in self.calibration_ids])
        if not math.isnan(error):
            parts.append(self.env._('calibrated') if error <= CALIBRATED_ERROR else self.env._(
                'its probabilities are %s points off the observed win rates on average', round(100 * error)))
        return f"{words}: {'; '.join(parts)}."

    def _summary_html(self):
        """The model's summary for a sales manager: verdict, drivers in words, tiers on the validation leads."""
        self.ensure_one()
        html = [Markup('<p class="fs-5 fw-bold o_lead_model_verdict">%s</p>') % self._verdict()]
        drivers = [(name, drop) for name, drop in json.loads(self.driver_importance or '[]') if drop > 0]
        if drivers:
            total = sum(drop for _name, drop in drivers)
            html.append(Markup('<p class="mb-1">%s</p><ul class="o_lead_model_drivers">') % self.env._(
                'What matters most, on the newest closed leads:'))
            html += [Markup('<li>%s</li>') % self.env._(
                '%(feature)s: %(share)s%% of what the model relies on', feature=self._feature_label(name),
                share=round(100 * drop / total)) for name, drop in drivers[:SHOWN_DRIVERS]]
            html.append(Markup('</ul>'))
        tiers = self.tier_stat_ids.filtered('count')
        if tiers:
            html.append(Markup('<p class="mb-1">%s</p><ul class="o_lead_model_tiers">') % self.env._(
                'How the %s validation leads convert by tier:', self.n_valid))
            html += [Markup('<li>%s</li>') % self.env._(
                '%(tier)s: %(count)s leads, %(rate)s%% won', tier=tier.name, count=tier.count,
                rate=round(100 * tier.conversion_rate)) for tier in tiers]
            html.append(Markup('</ul>'))
        return Markup('').join(html)

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    def write(self, vals):
        trained = TRAINED_FIELDS.intersection(vals)
        # not a context key, which any RPC call may set: only code that called sudo() (the training) is su
        if trained and not self.env.su:
            raise AccessError(self.env._(
                'Only a training writes a lead scoring model and its figures (%s): train a new model instead.',
                ', '.join(sorted(self._fields[name]._description_string(self.env) for name in trained))))
        if 'active' in vals and not vals['active'] and 'state' not in vals:
            # an archived model scores nothing: archiving the active one retires it
            self.filtered(lambda record: record.state == 'active').write({'state': 'retired'})
        res = super().write(vals)
        if 'parameters' in vals or 'state' in vals or 'active' in vals:
            # the loaded models are cached by id; whether a model sets the leads' probability, once
            self.env.registry.clear_cache()
        if 'state' in vals:
            self.env['crm.lead']._trigger_full_rescore()
        if vals.get('state') == 'retired' and not self.env.context.get('lead_intelligence_activating'):
            # without an active model the leads get Odoo's probability back (a new active one: see _activate)
            self.env['crm.lead']._restore_odoo_probabilities()
        return res

    def unlink(self):
        was_active = any(record.state == 'active' for record in self)
        res = super().unlink()
        if was_active:
            self.env.registry.clear_cache()  # see write
            # the company's leads fall back to fit and engagement, and to Odoo's probability
            self.env['crm.lead']._trigger_full_rescore()
            self.env['crm.lead']._restore_odoo_probabilities()
        return res

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_activate(self):
        """Make this model the company's active one, whatever its figures: the administrator decides.

        A model that failed its quality gates is activated only when asked explicitly, after the
        warning of the form's "Activate Anyway" (the context key ``lead_intelligence_activate_anyway``).

        :raise UserError: the model failed its quality gates and the activation was not confirmed
        """
        self.ensure_one()
        if not self.quality_passed and not self.env.context.get('lead_intelligence_activate_anyway'):
            raise UserError(self.env._(
                'The model %(name)s failed its quality gates: %(issues)s Activate it anyway from its form if you '
                'still want it to score the leads.', name=self.name, issues=self.quality_issues or ''))
        self._activate()

    def action_retire(self):
        self.filtered(lambda record: record.state == 'active').write({'state': 'retired'})

    def action_open_calibration(self):
        self.ensure_one()
        action = self.env['ir.actions.act_window']._for_xml_id(
            'lead_intelligence.crm_lead_scoring_model_calibration_action')
        action['domain'] = [('model_id', '=', self.id)]
        return action

    # ------------------------------------------------------------
    # CRONS
    # ------------------------------------------------------------

    @api.model
    def _cron_train_model(self):
        """Run the trainings asked for, then, when the weekly run is due, train a model for every company.

        Each training is committed as running before it starts, so that its
        progress (written by another cursor) and its end can be followed; a
        company without enough history gets a failed training with the reason
        and keeps its scores as they are.
        """
        Training = self.env['crm.lead.scoring.model.training']
        IrCron = self.env['ir.cron']
        Training._fail_stale()
        IrCron._commit_progress(remaining=Training.search_count([('state', '=', 'queued')]))
        while training := Training._claim_queued():
            IrCron._commit_progress()  # the claim is seen: no other worker takes it, the user sees it running
            self._run_training(training)
            if not IrCron._commit_progress(1):
                return
        # sudo: the cron reads its own schedule, whoever runs it
        cron = self.env.ref('lead_intelligence.ir_cron_train_lead_scoring_model', raise_if_not_found=False)
        due = cron and cron.sudo().nextcall
        if not due or due > fields.Datetime.now():
            return  # triggered for the trainings asked for: the weekly run is not due
        # a run cut short by its time limit resumes: the companies trained since the due date are done
        done = Training.search(['|', ('state', 'in', ('queued', 'running')), ('date_start', '>=', due)])
        companies = self.env['res.company'].search([('id', 'not in', done.company_id.ids)])
        IrCron._commit_progress(remaining=len(companies))
        for company in companies:
            training = Training._start(company)
            if training:
                IrCron._commit_progress()
                self._run_training(training)
            if not IrCron._commit_progress(1):
                return

    @api.model
    def _run_training(self, training):
        """Train the model of ``training`` (committed as running) and mark it done or failed.

        The model is committed before the training is marked done; a failure
        rolls the training back, leaves the active model as it is and is
        written on the training with its reason.

        :return: the new model, or an empty recordset if the training failed
        """
        try:
            with self.env.cr.savepoint():
                record = self.with_company(training.company_id)._train_model(progress=training._report_progress)
        except UserError as error:
            _logger.info('Lead Intelligence: no model trained for %s: %s', training.company_id.name, error)
            training._finish(message=str(error.args[0] if error.args else error))
            return self.browse()
        except Exception as error:  # any failure is the training's: marked failed, the cron goes on
            _logger.exception('Lead Intelligence: training %s failed', training.id)
            training._finish(message=self.env._('The training failed: %s', error))
            return self.browse()
        self.env.cr.flush()
        self.env['ir.cron']._commit_progress()  # the model exists for good before the training says so
        training._finish(model=record)
        return record

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    @api.model
    def _get_active_model(self, company):
        return self.search([('company_id', '=', company.id), ('state', '=', 'active')], limit=1)

    @api.model
    @tools.ormcache('model_id')
    def _load_engine_model(self, model_id):
        """(engine model, False) of the record ``model_id``, or (None, why it cannot be used).

        Loaded (and checked) once per worker, a refusal as well: the parameters
        of a record never change once trained, so its id is a safe key.
        """
        try:
            # sudo: the parameters are the managers', the scores computed from them everyone's
            loaded = engine_model.load_model(self.sudo().browse(model_id).parameters or '')
            allowed = {feature['name']: feature['kind'] for feature in MODEL_FEATURES}
            for entry in loaded.encoder.spec:
                if allowed.get(entry['name']) != entry['kind']:
                    raise engine_model.ModelFormatError(
                        f"not a valid lead scoring model: {entry['name']!r} ({entry['kind']}) is not a model feature")
        except engine_model.ModelFormatError as error:
            return None, str(error)
        return loaded, False

    def _get_engine_model(self):
        """The engine model of this record.

        :raise UserError: it cannot be used (see :attr:`load_error`)
        """
        self.ensure_one()
        loaded, _error = self._load_engine_model(self.id)
        if loaded is None:
            raise UserError(self.load_error)
        return loaded

    @api.model
    def _model_features(self):
        leaking = LEAKING_FIELDS & {feature['name'] for feature in MODEL_FEATURES}
        if leaking:
            raise UserError(self.env._(
                'These fields are known only once a lead is won or lost and cannot be model features: %s',
                ', '.join(sorted(leaking))))
        return MODEL_FEATURES

    @api.model
    def _get_training_window(self):
        settings = self.env['res.config.settings']._get_lead_intelligence_settings()
        date_to = fields.Datetime.now()
        return date_to - timedelta(days=settings['model_window_days']), date_to

    @api.model
    def _closed_lead_condition(self, company, date_from):
        """SQL condition on ``crm_lead`` of the closed leads a model of ``company`` learns from.

        A lost lead has no closing date in crm: its last write stands for it.
        """
        return SQL(
            """crm_lead.won_status IN ('won', 'lost') AND (crm_lead.company_id = %s OR crm_lead.company_id IS NULL)
               AND COALESCE(crm_lead.date_closed, crm_lead.write_date) >= %s""",
            company.id, date_from)

    @api.model
    def _get_history_counts(self, company=None):
        """(won, lost) leads closed within the training window for ``company``."""
        company = company or self.env.company
        date_from, _date_to = self._get_training_window()
        self.env['crm.lead'].flush_model(['won_status', 'company_id', 'date_closed'])
        rows = self.env.execute_query(SQL(
            'SELECT won_status, count(*) FROM crm_lead WHERE %s GROUP BY won_status',
            self._closed_lead_condition(company, date_from)))
        counts = dict(rows)
        return counts.get('won', 0), counts.get('lost', 0)

    @api.model
    def _train_model(self, progress=None):
        """Train a model on the current company's leads won or lost within the window.

        The new model becomes active when it passes its quality gates (:meth:`_quality_gates`: enough
        validation leads, won and lost among them, the minimum ROC AUC of the settings, and at least
        Odoo's own predictive lead scoring's on the same leads, :meth:`_pls_auc`) and there is no
        active model, or it does at least as well as the active one on the new model's validation
        leads (the newest closed ones); otherwise it stays a candidate, with the reason in its chatter.

        :param progress: optional callable ``progress(percent, step)`` told how far the training is
            (0-100) and what it does, at each step
        :return: the new ``crm.lead.scoring.model``
        :raise UserError: too little history (see the settings' minimums)
        """
        started = time.monotonic()
        report = progress or (lambda _percent, _step: None)
        company = self.env.company
        settings = self.env['res.config.settings']._get_lead_intelligence_settings()
        date_from, date_to = self._get_training_window()
        won, lost = self._get_history_counts(company)
        if won < settings['model_min_won'] or lost < settings['model_min_lost']:
            raise UserError(self.env._(
                'Too little history to train a lead scoring model for %(company)s: %(won)s won and %(lost)s lost '
                'leads closed in the last %(days)s days, at least %(min_won)s won and %(min_lost)s lost are needed. '
                'Lead scores use profile fit and engagement only.',
                company=company.name, won=won, lost=lost, days=settings['model_window_days'],
                min_won=settings['model_min_won'], min_lost=settings['model_min_lost']))
        # two workers training for one company would fight over which model is active
        locked = self.env.execute_query(SQL('SELECT pg_try_advisory_xact_lock(%s, %s)', TRAIN_LOCK_KEY, company.id))
        if not locked[0][0]:
            raise UserError(self.env._('A lead scoring model is already being trained for %s.', company.name))
        features = self._model_features()
        current = self._get_active_model(company)
        current_model = False
        if current:
            try:
                current_model = current._get_engine_model()
            except UserError:
                _logger.warning('Lead Intelligence: the active model %s cannot be loaded: replaced', current.name)
        # the active model is measured on the new validation leads: read what it needs too
        read_features = features + [entry for entry in (current_model.encoder.spec if current_model else [])
                                    if entry['name'] not in {feature['name'] for feature in features}]
        pls_features = [feature for feature in self._pls_features()
                        if feature['name'] not in {entry['name'] for entry in read_features}]
        read_features += pls_features
        columns, outcomes = self._read_training_data(
            company, date_from, read_features,
            progress=lambda done, total: report(
                READ_PROGRESS[0] + (READ_PROGRESS[1] - READ_PROGRESS[0]) * done / (total or 1),
                self.env._('Reading %(done)s of %(total)s closed leads', done=f'{done:,}', total=f'{total:,}')))
        # sudo: the tiers that cut this company's scores, whoever trains
        Tier = self.env['crm.lead.tier'].sudo()
        default_tiers, company_tiers = Tier._get_tier_sets()
        thresholds, tier_ids = company_tiers.get(company.id, default_tiers)
        tiers = Tier.browse(list(tier_ids))
        algorithm_labels = dict(self._fields['algorithm']._description_selection(self.env))
        config = engine_model.TrainingConfig(
            features, valid_fraction=VALID_FRACTION, algorithms=engine_model.ALGORITHMS, tier_thresholds=thresholds,
            recency_half_life_days=settings['model_recency_half_life_days'],
            increasing=INCREASING_FEATURES if settings['model_increasing_behaviour'] else ())

        def report_fit(algorithm, done, total):
            report(FIT_PROGRESS[0] + (FIT_PROGRESS[1] - FIT_PROGRESS[0]) * done / total,
                   self.env._('Training %s', algorithm_labels[algorithm].lower()))

        try:
            result = engine_model.train(config, columns, outcomes.won, outcomes.closed_at, progress=report_fit)
        except ValueError as error:
            raise UserError(self.env._('The lead scoring model could not be trained: %s', error)) from error
        report(FIT_PROGRESS[1], self.env._('Validating on the newest %s %%', round(100 * VALID_FRACTION)))
        metrics = result.metrics
        compared_auc = False
        if current_model:
            valid_columns = engine_model.subset(columns, read_features, result.valid_index)
            compared_auc = engine_model.evaluate(
                outcomes.won[result.valid_index], current_model.predict_proba(valid_columns))['roc_auc']
        # sudo: only a training writes a model and its figures (see write), whoever asked for it
        record = self.sudo().create({
            'name': self.env._('%(algorithm)s, %(date)s', algorithm=algorithm_labels[result.model.algorithm],
                               date=fields.Datetime.to_string(date_to)[:16]),
            'company_id': company.id,
            'algorithm': result.model.algorithm,
            'feature_names': '\n'.join(self._feature_label(name) for name in result.model.feature_names),
            'parameters': result.model.to_json(),
            'n_train': len(result.train_index),
            'n_valid': len(result.valid_index),
            'n_won': result.n_won,
            'n_lost': result.n_lost,
            'date_from': date_from,
            'date_to': date_to,
            'validation_cutoff': datetime.fromtimestamp(result.validation_cutoff, UTC).replace(tzinfo=None),
            'roc_auc': metrics['roc_auc'],
            'pr_auc': metrics['pr_auc'],
            'brier_score': metrics['brier'],
            'logreg_auc': result.scores.get('logreg', False),
            'hgb_auc': result.scores.get('hgb', False),
            'hyperparameters': ', '.join(f'{key}={value}' for key, value in sorted(result.settings.items())),
            'calibration_method': result.model.calibration['method'],
            'compared_auc': compared_auc,
            **self._quality_gates(settings, metrics['roc_auc'], outcomes.won, result.valid_index,
                                  self._pls_auc(columns, outcomes.won, result.valid_index)),
            # measured with the model that did not see the validation leads: the refitted one learnt them
            'driver_importance': self._driver_importance(result.valid_model, columns, outcomes.won,
                                                         result.valid_index),
            'training_seconds': time.monotonic() - started,
            'calibration_ids': [
                fields.Command.create({'decile': decile, 'predicted': predicted, 'observed': observed, 'count': count})
                for decile, predicted, observed, count in metrics['calibration']],
            'tier_stat_ids': [
                fields.Command.create({'tier_id': tier.id, 'name': tier.name, 'min_score': threshold, 'count': count,
                                       'conversion_rate': rate, 'lift': lift})
                for tier, threshold, (count, rate, lift) in zip(tiers, thresholds, metrics['tiers'], strict=True)],
        }).with_env(self.env)
        if not record.quality_passed:
            record.message_post(body=self.env._(
                'Not activated, it failed its quality gates: %(issues)s An administrator may still activate it.',
                issues=record.quality_issues))
        elif compared_auc is False or math.isnan(compared_auc) or metrics['roc_auc'] >= compared_auc:
            record._activate()
        else:
            record.message_post(body=self.env._(
                'Not activated: ROC AUC %(new).3f on the validation leads, the active model %(name)s has %(old).3f '
                'on the same leads.', new=metrics['roc_auc'], name=current.name, old=compared_auc))
        _logger.info('Lead Intelligence: model %s trained on %s leads for %s (ROC AUC %.3f), %s',
                     record.name, result.n_won + result.n_lost, company.name, metrics['roc_auc'], record.state)
        report(100, self.env._('Done'))
        return record

    @api.model
    def _pls_features(self):
        """Odoo's PLS fields (crm's setting) and the team, as feature descriptions read with the training data."""
        Lead = self.env['crm.lead']
        names = ['team_id'] + [name for name in Lead._pls_get_safe_fields() if name != 'team_id']
        return [engine_model.multi(name) if Lead._fields[name].type == 'many2many' else engine_model.category(name)
                for name in names if Lead._fields[name].type in PLS_FIELD_TYPES]

    @api.model
    def _pls_auc(self, columns, won, valid_index):
        """ROC AUC of Odoo's PLS on the validation leads ``valid_index``, its frequencies built from the others.

        :param columns: the training data's columns, holding :meth:`_pls_features`
        :param won: (n,) 1 won, 0 lost, of every closed lead read
        """
        valid = np.zeros(len(won), dtype=bool)
        valid[valid_index] = True
        fields_codes, tags = [], None
        for feature in self._pls_features():
            name = feature['name']
            if name == 'team_id':
                continue
            if feature['kind'] == 'multi':
                rows, values = columns[name]
                in_valid = valid[rows]
                # rows renumbered within the training and the validation leads
                train_rank, valid_rank = np.cumsum(~valid) - 1, np.cumsum(valid) - 1
                tags = ((train_rank[rows[~in_valid]], values[~in_valid]),
                        (valid_rank[rows[in_valid]], values[in_valid]))
                continue
            values = columns[name]
            if values.dtype.kind in 'iu':
                unset = values <= 0
                codes = np.unique(values, return_inverse=True)[1]
            else:
                values = values.astype(str)
                unset = (values == '') & (name not in PLS_UNSET_IS_VALUE)
                codes = np.unique(values, return_inverse=True)[1]
            codes = np.where(unset, -1, codes)
            fields_codes.append((codes[~valid], codes[valid]))
        team = np.asarray(columns['team_id'], dtype=np.int64)
        probability = quality.pls_probability(won[~valid], team[~valid], team[valid], fields_codes, tags)
        return quality.roc_auc(won[valid], probability)

    @api.model
    def _driver_importance(self, engine, columns, won, valid_index):
        """JSON of [feature name, ROC AUC lost without it] of ``engine`` on the validation leads, largest first
        (``engine.model.quality.permutation_importance``)."""
        X = engine.encoder.transform(engine_model.subset(columns, engine.encoder.spec, valid_index))
        drops = quality.permutation_importance(engine, X, np.asarray(won)[valid_index])
        ranked = sorted(zip(engine.feature_names, drops.tolist(), strict=True), key=lambda pair: -pair[1])
        return json.dumps([[name, round(drop, 5)] for name, drop in ranked if not math.isnan(drop)])

    @api.model
    def _quality_gates(self, settings, auc, won, valid_index, pls_auc):
        """The quality gates' figures and verdict of a model of ROC AUC ``auc`` on the validation leads.

        :param won: (n,) 1 won, 0 lost, of every closed lead read; ``valid_index`` the validation ones
        :return: the values of the model's quality fields
        """
        valid_won = int(np.asarray(won)[valid_index].sum())
        n_valid = len(valid_index)
        issues = []
        if n_valid < settings['model_min_valid_leads']:
            issues.append(self.env._('measured on %(count)s validation leads, at least %(min)s are needed.',
                                     count=n_valid, min=settings['model_min_valid_leads']))
        if valid_won < settings['model_min_valid_won'] or n_valid - valid_won < settings['model_min_valid_lost']:
            issues.append(self.env._(
                '%(won)s won and %(lost)s lost validation leads, at least %(min_won)s won and %(min_lost)s lost are '
                'needed.', won=valid_won, lost=n_valid - valid_won, min_won=settings['model_min_valid_won'],
                min_lost=settings['model_min_valid_lost']))
        if not auc >= settings['model_min_auc']:
            issues.append(self.env._('ROC AUC %(auc).3f on the validation leads, below the minimum %(min).2f.',
                                     auc=auc, min=settings['model_min_auc']))
        if not math.isnan(pls_auc) and not auc >= pls_auc:
            issues.append(self.env._(
                "ROC AUC %(auc).3f, below Odoo's own predictive lead scoring (%(pls).3f) on the same leads.",
                auc=auc, pls=pls_auc))
        return {
            'n_valid_won': valid_won, 'n_valid_lost': n_valid - valid_won,
            'pls_auc': False if math.isnan(pls_auc) else pls_auc,
            'quality_passed': not issues,
            'quality_issues': ' '.join(f'{index}. {issue}' for index, issue in enumerate(issues, start=1)) or False,
        }

    def _activate(self):
        self.ensure_one()
        current = self.search([
            ('company_id', '=', self.company_id.id), ('state', '=', 'active'), ('id', '!=', self.id)])
        current.with_context(lead_intelligence_activating=True).write({'state': 'retired'})
        # one active model per company is a unique index: retire before activating, not in one UPDATE
        current.flush_recordset(['state'])
        self.write({'state': 'active', 'active': True})
        if not self.quality_passed:
            # a model activated in spite of its gates does not set the win probability: Odoo's comes back
            self.env['crm.lead']._restore_odoo_probabilities()

    @api.model
    def _feature_label(self, name):
        return self.env['crm.lead']._fields[name]._description_string(self.env)

    @api.model
    def _read_training_data(self, company, date_from, features, progress=None):
        """Features and outcomes of the closed leads, in batches.

        :param progress: optional callable ``progress(done, total)``, called before the first batch and
            after each one with the number of leads read
        :return: (columns: feature name -> array (n,), or (rows, values) for the classes,
            ``engine.model.Outcomes`` (n,))
        """
        Lead = self.env['crm.lead']
        Lead.flush_model()
        lead_ids = [lead_id for (lead_id,) in self.env.execute_query(SQL(
            'SELECT id FROM crm_lead WHERE %s ORDER BY id', self._closed_lead_condition(company, date_from)))]
        parts = []
        if progress:
            progress(0, len(lead_ids))
        for start in range(0, len(lead_ids), TRAIN_BATCH_SIZE):
            ids, columns, outcomes = Lead._read_model_features(
                Lead._query_leads(lead_ids[start:start + TRAIN_BATCH_SIZE]), features, outcome=True)
            parts.append((len(ids), columns, outcomes))
            if progress:
                progress(min(start + TRAIN_BATCH_SIZE, len(lead_ids)), len(lead_ids))
        columns = _concat_columns([(n, part) for n, part, _outcomes in parts], features)
        return columns, engine_model.Outcomes.concatenate([outcomes for _n, _c, outcomes in parts])


def _concat_columns(parts, features):
    """Join the column dicts of consecutive batches (multi-valued rows shifted by the rows before)."""
    columns = {}
    for feature in features:
        name = feature['name']
        if feature['kind'] == 'multi':
            offsets = np.cumsum([0] + [n for n, _part in parts])
            pairs = [part[name] for _n, part in parts]
            columns[name] = (
                np.concatenate([rows + offset for (rows, _values), offset in zip(pairs, offsets, strict=False)])
                if parts else np.zeros(0, dtype=np.int64),
                np.concatenate([values for _rows, values in pairs]) if parts else np.zeros(0, dtype=np.int64))
        else:
            columns[name] = np.concatenate([part[name] for _n, part in parts]) if parts else np.zeros(0)
    return columns
