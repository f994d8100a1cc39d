import logging
import math

import numpy as np
from markupsafe import Markup

from odoo import api, fields, models, tools
from odoo.tools import SQL

from ...engine import behaviour, scoring
from ...engine import model as engine_model
from ..events.crm_lead import COUNTER_FIELDS
from ..lead_fields import VALUE
from ..writes import crm_lead as lead_writes
from ..writes.crm_lead_engagement import decayed_units_sql
from .crm_lead_scoring_model import ZERO_IS_MISSING

_logger = logging.getLogger(__name__)

RESTORE_BATCH_SIZE = 50000  # leads given Odoo's probability back per batch


class CrmLead(models.Model):
    """The predictive model's part of scoring: read the features, predict, explain."""

    _inherit = 'crm.lead'

    model_probability = fields.Float(
        'Model Probability', related='score_line_id.model_probability', system_owned=True,
        help="0-1: the chance that the lead is won, predicted by the active lead scoring model from the "
             "company's won and lost leads. Empty when no model is active.")
    model_score = fields.Integer(
        related='score_line_id.model_score', system_owned=True,
        help="0-100: the model probability as a score component.")
    model_sets_probability = fields.Boolean(
        compute='_compute_model_sets_probability',
        help="The lead's automated probability is the model's (setting Model Probability as Win Probability).")

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    @api.model
    def _get_active_scoring_models(self):
        """{company id: (model record id, engine model)} of every company's active model.

        Each company's model is loaded on its own. One that cannot be loaded
        gets None for engine model, with an error in the log: its company's
        leads are scored on fit and engagement rather than not at all, the other
        companies' as usual, and its leads' explanations say why.
        Leads without a company (crm leaves it empty on a lead with neither team
        nor salesperson; every company's training reads them) go under key 0, to
        the main company's model: the same one whoever runs the pass.
        """
        # sudo: every company's leads may be scored in one pass, whoever triggers it
        ScoringModel = self.env['crm.lead.scoring.model'].sudo()
        models_by_company = {}
        for record in ScoringModel.search([('state', '=', 'active')]):
            loaded, error = record._load_engine_model(record.id)
            if error:
                _logger.error('Lead Intelligence: %s', record.load_error)
            models_by_company[record.company_id.id] = (record.id, loaded)
        main_company = self.env.ref('base.main_company', raise_if_not_found=False)
        if main_company and main_company.id in models_by_company:
            models_by_company[0] = models_by_company[main_company.id]
        return models_by_company

    def _read_model_features(self, query, features, outcome=False):
        """Read the model features of the leads of ``query`` (ordered by id), in two queries.

        :param outcome: also read whether each lead was won and when it closed
            (training only: neither is ever a feature), and give the behaviour
            counters and the engagement as they were when the lead closed (see
            :meth:`_behaviour_at_closing`)
        :return: (ids (n,), columns: feature name -> array (n,), or (rows, values)
            for the classes; with ``outcome``, their ``engine.model.Outcomes``)
        """
        line = query.left_join('crm_lead', 'score_line_id', 'crm_lead_score', 'id', 'score_line_id')
        single = [feature for feature in features if feature['kind'] != 'multi']
        selects = [SQL('crm_lead.id')]
        for feature in single:
            name = feature['name']
            column = SQL.identifier(line, name) if name == 'engagement_score' else SQL.identifier('crm_lead', name)
            field_type = self._fields[name].type
            if field_type == 'many2one':
                selects.append(SQL('COALESCE(%s, 0)', column))
            elif field_type == 'selection':
                selects.append(SQL("COALESCE(%s::varchar, '')", column))
            elif name in ZERO_IS_MISSING:
                selects.append(SQL('NULLIF(%s, 0)::float8', column))
            else:
                selects.append(SQL('COALESCE(%s, 0)::float8', column))
        if outcome:
            selects += [SQL("(crm_lead.won_status = 'won')::int"),
                        SQL('extract(epoch FROM COALESCE(crm_lead.date_closed, crm_lead.write_date))::float8')]
        rows = self.env.execute_query(query.select(*selects))
        ids, *values = list(zip(*rows, strict=True)) if rows else [()] * len(selects)
        if outcome:
            *values, won, closed_at = values
        ids = np.array(ids, dtype=np.int64)
        columns = {}
        for feature, column in zip(single, values, strict=True):
            field_type = self._fields[feature['name']].type
            dtype = np.int64 if field_type == 'many2one' else object if field_type == 'selection' else np.float64
            columns[feature['name']] = np.array(column, dtype=dtype)
        for feature in features:
            if feature['kind'] == 'multi':
                field = self._fields[feature['name']]
                pairs = self.env.execute_query(SQL(
                    'SELECT %s, %s FROM %s WHERE %s = ANY(%s)', SQL.identifier(field.column1),
                    SQL.identifier(field.column2), SQL.identifier(field.relation), SQL.identifier(field.column1),
                    ids.tolist()))
                lead_ids, value_ids = np.array(pairs, dtype=np.int64).reshape(len(pairs), 2).T
                columns[feature['name']] = (np.searchsorted(ids, lead_ids), value_ids)
        if not outcome:
            return ids, columns
        if len(ids):
            self._behaviour_at_closing(ids, columns)
        return ids, columns, engine_model.Outcomes(won=won, closed_at=closed_at)

    @api.model
    def _behaviour_at_closing(self, ids, columns):
        """Put the behaviour of the closed leads ``ids`` (sorted) in ``columns`` as it was when each closed.

        A won customer goes on visiting, replying and meeting: behaviour that
        exists only after the outcome. The counters in ``columns`` lose what the
        counted events after the lead's closing added to them (the same
        increments as counting, ``crm.lead.event._fold_counted``). The engagement,
        whose stored value decays to today (a lead closed a year ago would look
        idle, one closed yesterday engaged), is rebuilt from the events before
        the closing, each worth its type's points decayed to that day (archived
        types: nothing). An open lead's are taken as they are, when it is scored.
        The closing date of a lost lead is its last write, as in training. One
        query over the event log.
        """
        counters = [name for name in columns if name in COUNTER_FIELDS]
        if not counters and 'engagement_score' not in columns:
            return
        rows = self.env.execute_query(SQL(
            """SELECT e.lead_id, COALESCE(t.counter_field, ''), t.is_buying_signal,
                      (count(*) FILTER (WHERE e.occurred_at > closing.at))::float8,
                      COALESCE(sum(e.value) FILTER (WHERE e.occurred_at > closing.at), 0)::float8,
                      COALESCE(sum(CASE WHEN t.active THEN t.points ELSE 0 END
                                   * %(units)s)
                               FILTER (WHERE e.occurred_at <= closing.at), 0)::float8
                 FROM crm_lead_event e
                 JOIN crm_lead ON crm_lead.id = e.lead_id
                 CROSS JOIN LATERAL (SELECT COALESCE(crm_lead.date_closed, crm_lead.write_date) AS at) AS closing
                 JOIN crm_lead_event_type t ON t.id = e.type_id
                WHERE e.lead_id = ANY(%(ids)s) AND e.filter_reason IS NULL
                  AND NOT EXISTS (SELECT 1 FROM crm_lead_event_queue q WHERE q.event_id = e.id)
                GROUP BY e.lead_id, t.counter_field, t.is_buying_signal""",
            ids=ids.tolist(), units=decayed_units_sql('e', 't', SQL('closing.at'))))
        lead_ids, counter_of_row, signal, count, total, points = (
            zip(*rows, strict=True) if rows else ((), (), (), (), (), ()))
        position = np.searchsorted(ids, np.array(lead_ids, dtype=np.int64))
        counter_of_row = np.array(counter_of_row, dtype=object)
        signal, count, total = np.array(signal, dtype=bool), np.array(count), np.array(total)
        for name in counters:
            mask = behaviour.counter_events(name, counter_of_row, signal)
            after = np.zeros(len(ids))
            np.add.at(after, position[mask], total[mask] if COUNTER_FIELDS[name] == VALUE else count[mask])
            columns[name] = np.maximum(columns[name] - after, 0.0)
        if 'engagement_score' in columns:
            engagement = np.zeros(len(ids))
            np.add.at(engagement, position, np.array(points, dtype=np.float64))
            settings = self.env['res.config.settings']._get_lead_intelligence_settings()
            high = float(settings['engagement_points_high'])
            columns['engagement_score'] = scoring.round_score(
                behaviour.engagement_score(engagement, high)).astype(np.float64)

    def _read_model_columns(self, ids, company_ids, config, engagement=None):
        """Features of the leads ``ids`` whose company has an active model.

        :return: (rows: index into ``ids`` of those leads, columns of those leads,
            the features), or None when no lead has a model
        """
        loaded = _loaded_models(config)
        if not loaded or not len(ids):
            return None
        rows = np.flatnonzero(np.isin(company_ids, list(loaded)))
        if not len(rows):
            return None
        features = list({entry['name']: entry for _record_id, engine in loaded.values()
                         for entry in engine.encoder.spec}.values())
        _ids, columns = self._read_model_features(self._query_leads(ids[rows].tolist()), features)
        if engagement is not None and 'engagement_score' in columns:
            columns['engagement_score'] = np.asarray(engagement, dtype=np.float64)[rows]
        return rows, columns, features

    def _predict_model(self, ids, company_ids, engagement, config):
        """Win probability of the leads ``ids`` by their company's active model, NaN for those without one.

        :param engagement: (n,) the 0-100 engagement just computed (a model feature)
        """
        probability = np.full(len(ids), np.nan)
        read = self._read_model_columns(ids, company_ids, config, engagement)
        if read is None:
            return probability
        rows, columns, features = read
        for company_id, (record_id, engine) in _loaded_models(config).items():
            positions = np.flatnonzero(company_ids[rows] == company_id)
            if not len(positions):
                continue
            try:
                probability[rows[positions]] = engine.predict_proba(engine_model.subset(columns, features, positions))
            except Exception:  # a company's model failing leaves the others: its leads get no probability
                _logger.exception('Lead Intelligence: the lead scoring model %s could not predict', record_id)
        return probability

    def _explain_model(self, ids, company_ids, config, top=3):
        """The model's explanation of each of the leads ``ids`` whose company has an active model.

        Never fails because of a model: the leads of a model that cannot be used
        or cannot explain them get an ``error`` instead of factors.

        :return: {lead id: {'model': crm.lead.scoring.model, 'base': float, 'score': float,
            'factors': [(words, points)], 'other': float}}, or {'model', 'error': words} for a model
            that cannot explain the lead, with ``'unusable': True`` when it cannot be used at all
            (its company's leads are scored without it)
        """
        # sudo: the explanation names the model, whoever reads the lead
        ScoringModel = self.env['crm.lead.scoring.model'].sudo()
        explanations = {}
        for company_id, (record_id, engine) in config.models.items():
            if engine is None:
                record = ScoringModel.browse(record_id)
                unusable = {'model': record, 'error': record.load_error, 'unusable': True}
                explanations.update(dict.fromkeys(ids[company_ids == company_id].tolist(), unusable))
        read = self._read_model_columns(ids, company_ids, config)
        if read is None:
            return explanations
        rows, columns, features = read
        for company_id, (record_id, engine) in _loaded_models(config).items():
            positions = np.flatnonzero(company_ids[rows] == company_id)
            if not len(positions):
                continue
            record = ScoringModel.browse(record_id)
            lead_ids = ids[rows[positions]].tolist()
            try:
                explanations.update(zip(lead_ids, self._explain_leads(
                    record, engine, engine_model.subset(columns, features, positions), top), strict=True))
            except Exception:  # the lead form shows the rest of the explanation, and why not this part
                _logger.exception('Lead Intelligence: the lead scoring model %s could not explain leads', record.name)
                failed = {'model': record, 'error': self.env._(
                    'The lead scoring model %s cannot explain this lead.', record.name)}
                explanations.update(dict.fromkeys(lead_ids, failed))
        return explanations

    def _explain_leads(self, record, engine, columns, top):
        """The explanations of :meth:`_explain_model` of the leads of ``columns`` by ``engine`` (``record``)."""
        explanations = []
        for index, explained in enumerate(engine.explain(columns, top=top)):
            values = engine.encoder.value_labels(columns, index)
            # a factor worth less than half a point says nothing: it joins the others
            shown = [(feature, points) for feature, points in explained['up'] + explained['down']
                     if abs(points) >= 0.5]
            explanations.append({
                'model': record, 'base': explained['base'], 'score': explained['score'],
                'other': explained['score'] - explained['base'] - sum(points for _feature, points in shown),
                'factors': [(self._describe_model_factor(engine.encoder.spec[feature], values[feature]), points)
                            for feature, points in shown],
            })
        return explanations

    @api.model
    def _describe_model_factor(self, entry, value):
        """A feature's value of a lead in a salesperson's words: "Industry: Manufacturing", "Email Replies: 4",
        "Phone not set"."""
        field = self._fields[entry['name']]
        label = field._description_string(self.env)
        if entry['kind'] == 'multi':
            # sudo: as the explanation, whoever reads it
            names = self.env[field.comodel_name].sudo().browse(value).mapped('display_name')
            return self.env._('%(label)s: %(value)s', label=label, value=', '.join(names)) if names \
                else self.env._('No %s', label)
        if (value in (None, False, '', 0) and field.type in ('many2one', 'selection')) \
                or (isinstance(value, float) and math.isnan(value)):
            return self.env._('%s not set', label)
        if field.type == 'integer' and entry['kind'] == 'number' and not value:
            return self.env._('No %s', label)
        if field.type == 'many2one':
            shown = self.env[field.comodel_name].sudo().browse(value).display_name
        elif field.type == 'selection':
            shown = dict(field._description_selection(self.env)).get(value, value)
        else:
            shown = f'{value:,.0f}' if float(value).is_integer() else f'{value:,.2f}'
        return self.env._('%(label)s: %(value)s', label=label, value=shown)

    def _format_model_explanation(self, explanation):
        """The model's part of the explanation: its base, the lead's top factors, its score; or why not."""
        record = explanation['model']
        if explanation.get('error'):
            return Markup('<p class="text-danger mt-2 mb-0 o_lead_model_explanation">%s</p>') % explanation['error']
        parts = [Markup('<table class="table table-sm o_lead_model_explanation mt-2 mb-1"><tbody>')]
        parts.append(Markup('<tr><td>%s</td><td class="text-end">%.0f</td></tr>') % (self.env._(
            'Model %(name)s (ROC AUC %(auc).2f): an average lead scores', name=record.name, auc=record.roc_auc),
            explanation['base']))
        parts += [Markup('<tr><td>%s</td><td class="text-end">%+.0f</td></tr>') % (words, points)
                  for words, points in explanation['factors']]
        if round(explanation['other']):
            parts.append(Markup('<tr><td>%s</td><td class="text-end">%+.0f</td></tr>') % (
                self.env._('Other factors'), explanation['other']))
        parts.append(Markup('<tr class="fw-bold"><td>%s</td><td class="text-end">%.0f</td></tr>') % (
            self.env._('Model score (win probability %s%%)', round(explanation['score'])), explanation['score']))
        parts.append(Markup('</tbody></table>'))
        return Markup('').join(parts)


    # ------------------------------------------------------------
    # WIN PROBABILITY
    # ------------------------------------------------------------

    def _compute_model_sets_probability(self):
        ours = self._get_model_win_probabilities([lead_id for lead_id in self.ids if isinstance(lead_id, int)])
        for lead in self:
            lead.model_sets_probability = lead.id in ours

    @api.model
    def _model_win_probability_on(self):
        return self.env['res.config.settings']._get_lead_intelligence_settings()['model_win_probability']

    @api.model
    def _main_company_id(self):
        main_company = self.env.ref('base.main_company', raise_if_not_found=False)
        return main_company.id if main_company else 0

    @api.model
    @tools.ormcache()
    def _has_model_win_probability(self):
        """Whether a company has an active model that passed its quality gates (cached: the crm's own
        computations ask on every lead they compute; cleared when a model's state changes)."""
        # sudo: the models of every company, whoever's lead is computed
        return bool(self.env['crm.lead.scoring.model'].sudo().search_count(
            [('state', '=', 'active'), ('quality_passed', '=', True)], limit=1))

    @api.model
    def _get_model_win_probabilities(self, ids):
        """{lead id: the model's probability in percent} of the open leads ``ids`` whose probability is the
        model's: the setting is on and their company's active model passed its quality gates. One query."""
        if not ids or not self._model_win_probability_on() or not self._has_model_win_probability():
            return {}
        return dict(self.env.execute_query(lead_writes.model_win_probabilities_sql(ids, self._main_company_id())))

    @api.model
    def _set_model_win_probabilities(self, ids=None):
        """Make the model's probability the automated probability of the open leads ``ids`` (all when None),
        when the setting says so; the pass calls it after its writes, in one statement per chunk."""
        if not self._model_win_probability_on() or not self._has_model_win_probability():
            return
        self.env['crm.lead.scoring.model'].flush_model(['state', 'active', 'quality_passed'])
        self.flush_model(['probability', 'automated_probability', 'expected_revenue', 'recurring_revenue'])
        written = lead_writes.set_automated_probabilities(self.env, lead_writes.model_win_probabilities_sql(
            None if ids is None else np.asarray(ids).tolist(), self._main_company_id()))
        if written:
            self._invalidate_probabilities()

    def _invalidate_probabilities(self):
        self.invalidate_model(['automated_probability', 'probability', 'prorated_revenue', 'recurring_revenue_prorated',
                               'recurring_revenue_monthly_prorated', 'is_automated_probability'])

    @api.model
    def _on_model_win_probability_changed(self):
        """The setting was switched: on, every open lead takes its model's probability at once; off, they
        get Odoo's own back (:meth:`_restore_odoo_probabilities`)."""
        if self._model_win_probability_on():
            self._set_model_win_probabilities()
        else:
            self._restore_odoo_probabilities()

    @api.model
    def _restore_odoo_probabilities(self):
        """Give Odoo's own probability back to the open leads that hold their model's but should not (the
        setting is off, or their company's model is no longer active or failed its gates).

        Computed by crm's naive Bayes in batches, as its own job does (which is off unless an administrator
        turns it on), and written in one statement per batch.
        """
        self.env['crm.lead.scoring.model'].flush_model(['state', 'active', 'quality_passed'])
        self.flush_model()
        ids = [row[0] for row in self.env.execute_query(lead_writes.model_probability_holders_sql(
            self._main_company_id(), self._model_win_probability_on()))]
        for start in range(0, len(ids), RESTORE_BATCH_SIZE):
            batch = ids[start:start + RESTORE_BATCH_SIZE]
            result = self.browse(batch)._pls_get_naive_bayes_probabilities(batch_mode=True)
            probabilities = result[0] if isinstance(result, tuple) else result
            # crm gives no probability to a lead it cannot score (no stage, no won and lost leads): 0, as its form
            lead_writes.set_automated_probabilities(self.env, lead_writes.values_sql(
                batch, [float(probabilities.get(lead_id, 0)) for lead_id in batch]))
        if ids:
            self._invalidate_probabilities()

    def _pls_get_naive_bayes_probabilities(self, batch_mode=False, is_tooltip=False):
        """Odoo's probabilities, the model's instead for the open leads whose probability is the model's.

        crm calls this from the probability's compute, its nightly job and its tooltip: none of them
        puts Odoo's frequencies back where the model's probability is the lead's.
        """
        result = super()._pls_get_naive_bayes_probabilities(batch_mode=batch_mode, is_tooltip=is_tooltip)
        if not isinstance(result, tuple):  # crm returns its dict alone when it has nothing to compute
            return result
        probabilities, tooltip = result
        # a record of a form being edited stands for its saved lead
        real = {key: key if isinstance(key, int) else getattr(key, 'origin', None) for key in probabilities}
        ours = self._get_model_win_probabilities([lead_id for lead_id in real.values() if lead_id])
        for key, lead_id in real.items():
            # crm's 100 is a lead in a won stage: won, not predicted
            if lead_id in ours and probabilities[key] != 100:
                probabilities[key] = ours[lead_id]
        if is_tooltip and self.id in ours:
            tooltip['probability'] = ours[self.id]
        return probabilities, tooltip

    def prepare_pls_tooltip_data(self):
        """Odoo's AI tooltip; where the probability is the model's, its factors are the model's too."""
        data = super().prepare_pls_tooltip_data()
        if not self.model_sets_probability:
            return data
        explanation = self._explain_model(
            np.array(self.ids), np.array([self.company_id.id or 0]), self._get_scoring_config()).get(self.id)
        if not explanation or explanation.get('error'):
            return data
        factors = sorted(explanation['factors'], key=lambda factor: -factor[1])
        data.update(
            top_3_data=[{'field': 'lead_intelligence_factor', 'value': words, 'color': False}
                        for words, points in factors[:3] if points > 0],
            low_3_data=[{'field': 'lead_intelligence_factor', 'value': words, 'color': False}
                        for words, points in factors[::-1][:3] if points < 0])
        return data


def _loaded_models(config):
    """The models of ``config.models`` that could be loaded, by company."""
    return {company_id: (record_id, engine) for company_id, (record_id, engine) in config.models.items()
            if engine is not None}
