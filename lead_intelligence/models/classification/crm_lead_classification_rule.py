from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from ..lead_fields import SCORED_FIELDS
from ..writes import crm_lead_classification_snapshot
from .dimensions import DIMENSIONS, SELECTION_DIMENSIONS

# the open leads the quality checks look at
OPEN_LEADS = SQL("lead.active AND lead.won_status = 'pending'")


def _rule_values():
    labels = dict(DIMENSIONS)
    return [(f'{dimension}:{key}', f'{labels[dimension]}: {label}')
            for dimension, values in SELECTION_DIMENSIONS.items() for key, label in values]


class CrmLeadClassificationRule(models.Model):
    """Sets a dimension of the leads matching a condition: the first matching rule of a dimension
    wins (classes: every matching rule adds its class)."""

    _name = 'crm.lead.classification.rule'
    _description = 'Lead Classification Rule'
    # the quality check's to-dos are activities on the rules (which needs mail.thread)
    _inherit = ['crm.lead.domain.rule', 'crm.lead.scoring.config', 'mail.thread', 'mail.activity.mixin']
    _order = 'dimension, sequence, id'
    _rescore_fields = ('domain', 'dimension', 'value', 'industry_id', 'class_id', 'company_id', 'active', 'sequence')

    name = fields.Char('Rule', required=True, translate=True)
    sequence = fields.Integer(default=10, help="Rules of a dimension are tried in this order: the first match wins.")
    active = fields.Boolean(default=True)
    dimension = fields.Selection(DIMENSIONS, required=True, default='job_level')
    value = fields.Selection(_rule_values(), help="The value the rule gives.")
    industry_id = fields.Many2one('res.partner.industry', 'Industry Value')
    class_id = fields.Many2one('crm.lead.class', 'Class Value', ondelete='cascade')
    last_match_date = fields.Datetime(
        'Last Matched', readonly=True, copy=False,
        help="When the rule last matched a lead it classified (a new or edited lead, or every lead after a "
             "configuration change); the quality check warns about rules that no longer do.")
    description = fields.Text('Why', translate=True)

    @api.constrains('dimension', 'value', 'industry_id', 'class_id')
    def _check_value(self):
        for rule in self:
            if rule.dimension == 'industry':
                ok = bool(rule.industry_id)
            elif rule.dimension == 'class':
                ok = bool(rule.class_id)
            else:
                ok = bool(rule.value) and rule.value.split(':')[0] == rule.dimension
            if not ok:
                raise ValidationError(self.env._(
                    'Rule "%(rule)s" must give a value of its own dimension (%(dimension)s).',
                    rule=rule.name, dimension=dict(DIMENSIONS)[rule.dimension]))

    @api.onchange('dimension')
    def _onchange_dimension(self):
        if self.value and self.value.split(':')[0] != self.dimension:
            self.value = False

    def _get_value_key(self):
        """The value the rule gives: a selection key, or an industry or class id."""
        self.ensure_one()
        if self.dimension == 'industry':
            return self.industry_id.id
        if self.dimension == 'class':
            return self.class_id.id
        return self.value.split(':', 1)[1]

    def _reads_scores(self):
        """Whether the rule reads a field the scoring pass writes (the score, the tier...): its
        dimension is matched after the pass's scores, in the same pass (see ``crm.lead._score_query``)."""
        self.ensure_one()
        return any(condition.field_expr.split('.')[0] in SCORED_FIELDS
                   for condition in self._get_lead_domain().iter_conditions())

    def _rule_source_fields(self):
        """(model, field) pairs of the records the rules read through paths."""
        pairs = set()
        for rule in self:
            try:
                domain = rule._get_lead_domain()
            except ValidationError:
                continue  # set aside when the leads are next matched
            for condition in domain.iter_conditions():
                model = self.env['crm.lead']
                for name in condition.field_expr.split('.'):
                    field = model._fields.get(name)
                    if field is None:
                        break
                    if model._name != 'crm.lead':
                        pairs.add((model._name, name))
                    if not field.relational:
                        break
                    model = self.env[field.comodel_name]
        return pairs

    def _on_rule_source_change(self, model_name, field_names):
        """A record the rules may read changed (``field_names``) or is deleted (None):
        if an active rule reads it, reclassify every open lead."""
        # sudo: whoever edits a stage or a tag, the rules that read them must be known
        rules = self.sudo().search([])  # pylint: disable=no-search-all
        read = {field for model, field in rules._rule_source_fields() if model == model_name}
        if read and (field_names is None or read & field_names):
            self.env['crm.lead']._trigger_full_rescore()

    # ------------------------------------------------------------
    # QUALITY ALERTS
    # ------------------------------------------------------------

    @api.model
    def _cron_classification_quality_alerts(self):
        """Daily check of the classification: rules that no longer match, values whose share of the
        open leads jumped since the previous snapshot, dimensions most open leads lack. Each problem
        becomes a to-do activity for the Lead Intelligence managers."""
        settings = self.env['res.config.settings']._get_lead_intelligence_settings()
        self.env.flush_all()  # the checks read the leads in SQL
        today = fields.Date.context_today(self)
        self._take_classification_snapshot(today)
        alerts = (self._alerts_idle_rules(settings['alert_rule_idle_days'])
                  + self._alerts_share_changes(today, settings['alert_share_factor'])
                  + self._alerts_missing_values(today, settings['alert_missing_share']))
        self._create_quality_activities(alerts)
        return len(alerts)

    @api.model
    def _take_classification_snapshot(self, day):
        """Today's counts of open leads per company, dimension and value, in one INSERT ... SELECT
        (a second run on the same day replaces them)."""
        rows = self.env['crm.lead.classification.report']._lead_rows_query(OPEN_LEADS)
        crm_lead_classification_snapshot.replace_day(self.env, day, rows)
        self.env['crm.lead.classification.snapshot'].invalidate_model()

    @api.model
    def _alerts_idle_rules(self, days):
        """Active rules that gave no value for ``days`` days (never, for rules older than that)."""
        if days <= 0:
            return []
        limit = fields.Datetime.now() - timedelta(days=days)
        # sudo: the check covers every company's rules, whoever runs it
        rules = self.sudo().search([
            '|', ('last_match_date', '<', limit), '&', ('last_match_date', '=', False), ('create_date', '<', limit),
        ])
        return [
            (rule, self.env._('Classification rule idle for %(days)s days', days=days),
             self.env._('Rule "%(rule)s" has given its value to no lead since %(date)s: its condition may no '
                        'longer match your leads.', rule=rule.name,
                        date=rule.last_match_date or self.env._('its creation (%s)', rule.create_date)))
            for rule in rules
        ]

    @api.model
    def _alerts_share_changes(self, today, factor):
        """Values whose share of the open leads grew or shrank by more than ``factor`` since the
        previous snapshot (a value that appeared or vanished counts)."""
        if factor <= 1:
            return []
        rows = self.env.execute_query(SQL(
            """WITH previous AS (
                   SELECT MAX(date) AS date FROM crm_lead_classification_snapshot WHERE date < %(today)s
               ), snap AS (
                   SELECT s.date = %(today)s AS now, s.company_id, s.dimension, s.value, s.count,
                          SUM(s.count) FILTER (WHERE s.dimension = 'industry')
                              OVER (PARTITION BY s.date, s.company_id) AS total
                     FROM crm_lead_classification_snapshot s
                    WHERE s.date = %(today)s OR s.date = (SELECT date FROM previous)
               ), shares AS (
                   SELECT company_id, dimension, value,
                          COALESCE(SUM(count::float / NULLIF(total, 0)) FILTER (WHERE now), 0) AS share,
                          COALESCE(SUM(count::float / NULLIF(total, 0)) FILTER (WHERE NOT now), 0) AS before
                     FROM snap
                    WHERE value IS NOT NULL
                    GROUP BY company_id, dimension, value
               )
               SELECT company_id, dimension, value, before, share
                 FROM shares
                WHERE EXISTS (SELECT 1 FROM previous WHERE date IS NOT NULL)
                  AND (share > before * %(factor)s OR before > share * %(factor)s)
                ORDER BY dimension, value""", today=today, factor=factor))
        labels = dict(self._fields['dimension']._description_selection(self.env))
        alerts = []
        for company_id, dimension, value, before, share in rows:
            rule = self._first_rule_of(dimension, company_id)
            if rule:
                alerts.append((rule, self._alert_summary(
                    self.env._('%(dimension)s "%(value)s": share of open leads changed',
                               dimension=labels[dimension], value=value), rule, company_id),
                    self.env._('The share of the open leads with %(dimension)s "%(value)s" went from %(before)s%% '
                               'to %(share)s%% since the previous check (alert above a factor of %(factor)s).',
                               dimension=labels[dimension], value=value, before=round(before * 100, 1),
                               share=round(share * 100, 1), factor=factor)))
        return alerts

    @api.model
    def _alerts_missing_values(self, today, percent):
        """Dimensions more than ``percent`` % of the open leads have no value of (today's snapshot)."""
        if not 0 <= percent < 100:
            return []
        rows = self.env.execute_query(SQL(
            """WITH totals AS (
                   SELECT company_id, SUM(count) AS total FROM crm_lead_classification_snapshot
                    WHERE date = %(today)s AND dimension = 'industry' GROUP BY company_id
               )
               SELECT s.company_id, s.dimension, 100.0 * s.count / t.total
                 FROM crm_lead_classification_snapshot s
                 JOIN totals t ON t.company_id IS NOT DISTINCT FROM s.company_id
                WHERE s.date = %(today)s AND s.value IS NULL AND t.total > 0
                  AND 100.0 * s.count / t.total > %(percent)s
                ORDER BY s.dimension""", today=today, percent=percent))
        labels = dict(self._fields['dimension']._description_selection(self.env))
        alerts = []
        for company_id, dimension, missing in rows:
            rule = self._first_rule_of(dimension, company_id)
            if rule:
                alerts.append((rule, self._alert_summary(
                    self.env._('%(dimension)s: many open leads without a value', dimension=labels[dimension]),
                    rule, company_id),
                    self.env._('%(missing)s%% of the open leads have no %(dimension)s (alert above %(percent)s%%): '
                               'the rules of this dimension may miss them.',
                               missing=round(float(missing), 1), dimension=labels[dimension], percent=percent)))
        return alerts

    @api.model
    def _first_rule_of(self, dimension, company_id):
        # sudo: as in _alerts_idle_rules
        return self.sudo().search([('dimension', '=', dimension), ('company_id', 'in', [company_id or False, False])],
                                  limit=1)

    @api.model
    def _alert_summary(self, summary, rule, company_id):
        """A shared rule gets the alerts of every company: the summary names the company."""
        if company_id and not rule.company_id:
            return f'{summary} ({self.env["res.company"].browse(company_id).name})'
        return summary

    @api.model
    def _create_quality_activities(self, alerts):
        """A to-do per alert (rule, summary, note) for each manager, unless the rule still has an open
        activity with that summary."""
        if not alerts:
            return
        # sudo: the cron warns every manager, whoever runs it
        managers = self.env.ref('lead_intelligence.group_lead_intelligence_manager').sudo().all_user_ids.filtered(
            lambda user: user.active and not user.share)
        rules = self.browse({rule.id for rule, _summary, _note in alerts})
        # sudo: the system's check files the to-dos, on rules and for users it may not otherwise reach
        Activity = self.env['mail.activity'].sudo()
        existing = {
            (activity.res_id, activity.summary)
            for activity in Activity.search([('res_model', '=', self._name), ('res_id', 'in', rules.ids)])
        }
        activity_type = self.env.ref('mail.mail_activity_data_todo')
        model_id = self.env['ir.model']._get_id(self._name)
        values = []
        for rule, summary, note in alerts:
            if (rule.id, summary) in existing:
                continue
            existing.add((rule.id, summary))
            for user in managers:
                if rule.company_id and rule.company_id not in user.company_ids:
                    continue
                values.append({
                    'res_model_id': model_id, 'res_id': rule.id, 'activity_type_id': activity_type.id,
                    'summary': summary, 'note': note, 'user_id': user.id,
                    'date_deadline': fields.Date.context_today(self),
                })
        if values:
            Activity.with_context(mail_activity_quick_update=True).create(values)
