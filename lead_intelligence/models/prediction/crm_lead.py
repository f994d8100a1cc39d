import logging
import math

import numpy as np
from markupsafe import Markup

from odoo import api, fields, models
from odoo.tools import SQL

from ...engine import behaviour, scoring
from ...engine import model as engine_model
from ..events.crm_lead import COUNTER_FIELDS
from ..lead_fields import VALUE
from ..writes.crm_lead_engagement import decayed_units_sql
from .crm_lead_scoring_model import ZERO_IS_MISSING

_logger = logging.getLogger(__name__)


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
        """A feature's value of a lead in a salesperson's words: "Industry = Manufacturing", "Phone not set"."""
        field = self._fields[entry['name']]
        label = field._description_string(self.env)
        if entry['kind'] == 'multi':
            # sudo: as the explanation, whoever reads it
            names = self.env[field.comodel_name].sudo().browse(value).mapped('display_name')
            return f"{label} = {', '.join(names)}" if names else self.env._('No %s', label)
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
        return f'{label} = {shown}'

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


def _loaded_models(config):
    """The models of ``config.models`` that could be loaded, by company."""
    return {company_id: (record_id, engine) for company_id, (record_id, engine) in config.models.items()
            if engine is not None}
