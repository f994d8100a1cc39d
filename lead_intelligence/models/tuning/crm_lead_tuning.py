from datetime import timedelta

import numpy as np

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.fields import Command, Domain
from odoo.tools import SQL

from ...engine import tuning
from ..scoring.crm_lead_fit_rule import MAX_RULE_POINTS

DEFAULT_PERIOD = timedelta(days=365)
REGULARISATION = 1.0  # scikit-learn's C of the suggestions' regression
# closed leads the suggestions learn from, the newest of the period: enough for the points of a few
# dozen rules and event types, and read in seconds at any size (the tier backtest counts them all)
MAX_SUGGESTION_LEADS = 100_000


class CrmLeadTuning(models.Model):
    """A tuning of the scoring from the company's own closed leads: what each fit rule and
    event type is worth by the leads of a period, tier cut-offs backtested on them, and what
    was applied, by whom and why."""

    _name = 'crm.lead.tuning'
    _description = 'Lead Scoring Tuning'
    _order = 'id desc'

    company_id = fields.Many2one(
        'res.company', required=True, default=lambda self: self.env.company, index=True,
        help="Its closed leads (and those of no company) are read; its fit rules (and the shared ones) and "
             "the tiers it scores with are tuned.")
    date_from = fields.Date('Closed From', required=True, default=lambda self: fields.Date.today() - DEFAULT_PERIOD)
    date_to = fields.Date('Closed To', required=True, default=fields.Date.today)
    state = fields.Selection(
        [('draft', 'Draft'), ('computed', 'Computed'), ('applied', 'Applied')],
        default='draft', required=True, readonly=True, copy=False)
    computed_date = fields.Datetime('Computed On', readonly=True, copy=False)
    computed_by_id = fields.Many2one('res.users', readonly=True, copy=False)
    lead_count = fields.Integer('Closed Leads', readonly=True, copy=False)
    won_count = fields.Integer('Won', readonly=True, copy=False)
    scored_count = fields.Integer(
        'Scored', readonly=True, copy=False, help="Closed leads with a score: the tier backtest counts them.")
    sample_count = fields.Integer(
        'Leads Learnt From', readonly=True, copy=False,
        help="The closed leads the suggestions are computed from: every one of the period, or its newest "
             "100,000.")
    base_rate = fields.Float(
        'Base Conversion', readonly=True, copy=False, digits=(16, 4),
        help="Won over closed among the leads learnt from: what a rule's conversion is compared with.")
    threshold_mode = fields.Selection(
        [('share', 'Target share of leads'), ('conversion', 'Minimum conversion')],
        'Propose Cut-offs For', default='share', required=True,
        help="Target share: each tier gets about the share of the period's closed leads set on its line "
             "(e.g. the top tier 10 %). Minimum conversion: each tier is as wide as it can be while its "
             "leads convert at least as set on its line.")
    histogram = fields.Json(readonly=True, copy=False)  # the scored closed leads by score, for the backtests
    line_ids = fields.One2many('crm.lead.tuning.line', 'tuning_id', 'Suggestions')
    rule_line_ids = fields.One2many(
        'crm.lead.tuning.line', 'tuning_id', 'Profile-Fit Rules', domain=[('kind', '=', 'rule')])
    type_line_ids = fields.One2many(
        'crm.lead.tuning.line', 'tuning_id', 'Event Types', domain=[('kind', '=', 'event_type')])
    tier_line_ids = fields.One2many('crm.lead.tuning.tier', 'tuning_id', 'Tier Thresholds')
    history_ids = fields.One2many('crm.lead.tuning.history', 'tuning_id', 'Changes Applied')

    _dates_ordered = models.Constraint(
        'CHECK (date_from <= date_to)', "The period of a tuning must start before it ends.")

    @api.depends('date_from', 'date_to')
    def _compute_display_name(self):
        for run in self:
            run.display_name = self.env._('Closed %(from)s to %(to)s', **{'from': run.date_from, 'to': run.date_to})

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    @api.ondelete(at_uninstall=False)
    def _unlink_except_applied(self):
        if self.filtered('history_ids'):
            raise UserError(self.env._('A tuning whose suggestions were applied is kept: it is their history.'))

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_compute(self):
        """Read the period's closed leads and suggest points and cut-offs; nothing is changed."""
        self.ensure_one()
        self._check_manager()
        rules, types, tiers = self._get_rules(), self._get_event_types(), self._get_tiers()
        Lead = self.env['crm.lead']
        condition = self._closed_lead_condition()
        histogram, lead_count, won = Lead._read_closed_histogram(condition)
        if not won or won == lead_count:
            raise UserError(self.env._(
                'Suggestions need won and lost leads: the period has %(won)s won and %(lost)s lost leads of '
                '%(company)s. Choose a longer period.', won=won, lost=lead_count - won, company=self.company_id.name))
        closed = Lead._read_closed_leads(condition, rules, np.array(types.ids, dtype=np.int64), MAX_SUGGESTION_LEADS)
        if closed.won.all() or not closed.won.any():
            raise UserError(self.env._(
                'The newest %s closed leads of the period, the ones suggestions learn from, are all won or all '
                'lost: suggestions need both.',
                len(closed)))
        settings = self.env['res.config.settings']._get_lead_intelligence_settings()
        rule_suggestion, type_suggestion = tuning.suggest_points(
            closed, rules.mapped('points'), types.mapped('points'),
            rule_scale=tuning.points_per_logit(settings['fit_points_high'] - settings['fit_points_low']),
            type_scale=tuning.points_per_logit(settings['engagement_points_high']),
            max_points=MAX_RULE_POINTS, regularisation=REGULARISATION)
        Line = self.env['crm.lead.tuning.line']
        self.line_ids.unlink()
        self.write({
            'state': 'computed',
            'computed_date': fields.Datetime.now(),
            'computed_by_id': self.env.uid,
            'lead_count': lead_count,
            'won_count': won,
            'scored_count': int(histogram.leads.sum()),
            'sample_count': len(closed),
            'base_rate': tuning.base_rate(closed.won),
            'histogram': {name: getattr(histogram, name).tolist() for name in histogram.column_names()},
            'line_ids': [
                *(Command.create(values) for values in Line._prepare_lines(
                    'rule', rules, closed.won, closed.matches, rule_suggestion)),
                *(Command.create(values) for values in Line._prepare_lines(
                    'event_type', types, closed.won, closed.behaviour > 0, type_suggestion)),
            ],
        })
        self._reset_tier_lines(tiers)
        self.action_propose_cutoffs()

    def action_propose_cutoffs(self):
        """Propose tier cut-offs for the targets of the tier lines, and backtest them on the stored
        histogram (the leads are not read again)."""
        self.ensure_one()
        self._check_manager()
        if not self.histogram:
            raise UserError(self.env._('Compute the tuning first: the cut-offs are backtested on its leads.'))
        histogram = self._get_histogram()
        lines = self.tier_line_ids.sorted('sequence')
        if not lines:  # no tiers to cut
            return
        current = np.array(lines.mapped('current_min_score'), dtype=np.int64)
        if self.threshold_mode == 'share':
            shares = np.array(lines.mapped('target_share'))
            if np.any(shares < 0) or shares[:-1].sum() > 1.0 + 1e-9:
                raise UserError(self.env._(
                    'The target shares of the tiers above the last must be positive and add up to at most '
                    '100 %%, not %s %%.', round(100 * shares[:-1].sum(), 1)))
            proposed, met = tuning.cutoffs_for_shares(histogram, shares), np.ones(len(lines), dtype=bool)
        else:
            proposed, met = tuning.cutoffs_for_conversion(histogram, lines.mapped('target_conversion'))
        lines._write_backtests(tuning.backtest_tiers(histogram, current), tuning.backtest_tiers(histogram, proposed),
                               proposed, met)

    def action_apply_selected(self):
        """Apply the suggestions of the selected lines (and the proposed cut-offs if a tier line is selected)."""
        self.ensure_one()
        tier_lines = self.tier_line_ids if self.tier_line_ids.filtered('selected') else self.tier_line_ids.browse()
        return self._apply(self.line_ids.filtered('selected'), tier_lines)

    def action_apply_all(self):
        """Apply every suggestion that changes something, and the proposed cut-offs."""
        self.ensure_one()
        return self._apply(self.line_ids, self.tier_line_ids)

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _check_manager(self):
        if not (self.env.su or self.env.user.has_group('lead_intelligence.group_lead_intelligence_manager')):
            raise AccessError(self.env._('Only Lead Intelligence managers may tune the scoring.'))

    def _closed_lead_condition(self):
        """SQL condition on ``crm_lead``: the closed leads of the period and company (a lost lead's
        closing is its last write, as in training)."""
        self.ensure_one()
        return SQL(
            """crm_lead.won_status IN ('won', 'lost')
               AND (crm_lead.company_id = %(company)s OR crm_lead.company_id IS NULL)
               AND COALESCE(crm_lead.date_closed, crm_lead.write_date) >= %(start)s
               AND COALESCE(crm_lead.date_closed, crm_lead.write_date) < %(end)s""",
            company=self.company_id.id, start=self.date_from, end=self.date_to + timedelta(days=1))

    def _get_rules(self):
        """The runnable active fit rules of the tuning's company and the shared ones, in sequence order."""
        rules = self.env['crm.lead.fit.rule'].search(
            Domain('error_message', '=', False) & Domain('company_id', 'in', [False, self.company_id.id]))
        return rules._filter_runnable()

    def _get_event_types(self):
        """The active event types, by id (the order of the behaviour's columns)."""
        return self.env['crm.lead.event.type'].search([], order='id')  # pylint: disable=no-search-all

    def _get_tiers(self):
        """The tiers the company's leads are cut by (its own, else the shared ones), best first."""
        default, by_company = self.env['crm.lead.tier']._get_tier_sets()
        return self.env['crm.lead.tier'].browse(by_company.get(self.company_id.id, default)[1])

    def _get_histogram(self):
        return tuning.ScoreHistogram(**{name: np.array(values) for name, values in self.histogram.items()})

    def _reset_tier_lines(self, tiers):
        """One line per tier of ``tiers`` (best first), with its current minimum; the targets set on
        an earlier computation of the same tiers are kept, new tiers get defaults: shares growing
        down the tiers (10, 20, 30, 40 % for four), conversions of a multiple of the base rate."""
        targets = {line.tier_id: (line.target_share, line.target_conversion) for line in self.tier_line_ids}
        count = len(tiers)
        weights = np.arange(1, count + 1) / (count * (count + 1) / 2)
        self.tier_line_ids.unlink()
        self.write({'tier_line_ids': [Command.create({
            'tier_id': tier.id,
            'sequence': rank,
            'current_min_score': tier.min_score,
            'target_share': targets.get(tier, (float(weights[rank]), None))[0],
            'target_conversion': targets.get(tier, (None, min(1.0, self.base_rate * (count - 1 - rank))))[1],
        }) for rank, tier in enumerate(tiers)]})

    def _apply(self, lines, tier_lines):
        """Write the suggested points of ``lines`` and the proposed cut-offs of ``tier_lines`` through
        the ORM (each write starts the full rescore a configuration change starts), skipping what
        would not change, and record each change with its old and new values and why.

        :return: a notification of what was applied
        """
        self.ensure_one()
        self._check_manager()
        if self.state == 'draft':
            raise UserError(self.env._('Compute the tuning before applying it.'))
        history = [values for line in lines if (values := line._apply())]
        history += tier_lines._apply()
        if not history:
            raise UserError(self.env._('Nothing to apply: the selected suggestions are the current values.'))
        self.write({'state': 'applied', 'history_ids': [Command.create(values) for values in history]})
        return {
            'type': 'ir.actions.client',
            'tag': 'display_notification',
            'params': {
                'title': self.env._('Tuning applied'),
                'message': self.env._('%s changes applied and recorded; every open lead is being rescored.',
                                      len(history)),
                'type': 'success',
                'next': {'type': 'ir.actions.client', 'tag': 'soft_reload'},
            },
        }
