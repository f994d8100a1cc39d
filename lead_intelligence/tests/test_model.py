import json
import math
import random
from datetime import UTC, timedelta
from unittest.mock import patch

import numpy as np

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged, users
from odoo.tools import SQL, mute_logger

from ..engine import model as engine_model
from ..engine.model.calibration import ISOTONIC_MIN_LEADS, recency_weights
from ..models.prediction.crm_lead_scoring_model import LEAKING_FIELDS, MODEL_FEATURES, CrmLeadScoringModel
from ..models.prediction.crm_lead_scoring_model_training import CrmLeadScoringModelTraining
from .common import TestLeadIntelligenceCommon

HISTORY_SIZE = 240


def create_history(env, count, company, industries, seed=11):
    """Closed leads, one an hour up to yesterday: the first industry and email replies win more."""
    # the leads closed before (demo data, other tests' fixtures) leave the training window
    env.flush_all()
    env.execute_query(SQL(
        """UPDATE crm_lead SET date_closed = now() - interval '5000 days', write_date = now() - interval '5000 days'
            WHERE won_status IN ('won', 'lost')"""))
    env['crm.lead'].invalidate_model(['date_closed', 'write_date'])
    rng = random.Random(seed)
    profiles = [(rng.random() < 0.5, rng.randint(0, 4)) for _index in range(count)]
    won = [rng.random() < 0.1 + 0.55 * good + 0.1 * replies for good, replies in profiles]
    leads = env['crm.lead'].create([{
        'name': f'History {index}', 'type': 'opportunity', 'company_id': company.id,
        'industry_id': industries[0 if good else 1].id,
    } for index, (good, _replies) in enumerate(profiles)])
    env['crm.lead'].browse([lead.id for lead, outcome in zip(leads, won, strict=True) if outcome]).action_set_won()
    env['crm.lead'].browse([lead.id for lead, outcome in zip(leads, won, strict=True) if not outcome]).action_set_lost()
    env.flush_all()
    start = fields.Datetime.now() - timedelta(days=1, hours=count)
    env.execute_query(SQL(
        """UPDATE crm_lead SET email_reply_count = v.replies, date_closed = %s + make_interval(hours => v.rank)
             FROM unnest(%s::int[], %s::int[], %s::int[]) AS v(id, replies, rank) WHERE crm_lead.id = v.id""",
        start, leads.ids, [replies for _good, replies in profiles], list(range(count))))
    leads.invalidate_recordset()
    return leads


class TestModelHistoryCommon(TestLeadIntelligenceCommon):
    """A history of closed leads (see :func:`create_history`) where one industry converts better."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.industry_good, cls.industry_other = cls.env['res.partner.industry'].create([
            {'name': 'Machine Building'}, {'name': 'Hospitality'}])
        cls.history = create_history(cls.env, HISTORY_SIZE, cls.env.company, cls.industry_good + cls.industry_other)


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestScoringModel(TestModelHistoryCommon):

    def _set_weights(self, fit=100, engagement=0, model=50):
        params = self.env['ir.config_parameter'].sudo()
        params.set_param('lead_intelligence.weight_fit', fit)
        params.set_param('lead_intelligence.weight_engagement', engagement)
        params.set_param('lead_intelligence.weight_model', model)

    def _open_leads(self):
        good = self._create_lead(industry_id=self.industry_good.id, function='CEO')
        poor = self._create_lead(industry_id=self.industry_other.id, function='CEO')
        self.env.flush_all()
        self.env.execute_query(SQL('UPDATE crm_lead SET email_reply_count = 4 WHERE id = %s', good.id))
        (good + poor).invalidate_recordset()
        return good, poor

    def test_features_know_nothing_of_the_outcome(self):
        names = {feature['name'] for feature in MODEL_FEATURES}
        self.assertFalse(names & LEAKING_FIELDS)
        for name in names:
            self.assertIn(name, self.env['crm.lead']._fields)
        with patch('odoo.addons.lead_intelligence.models.prediction.crm_lead_scoring_model.MODEL_FEATURES',
                   [*MODEL_FEATURES, engine_model.category('stage_id')]), self.assertRaisesRegex(UserError, 'stage_id'):
            self.env['crm.lead.scoring.model']._model_features()

    def test_training_reads_the_behaviour_there_was_when_the_lead_closed(self):
        """A won customer goes on replying and meeting: those events exist only after the outcome and
        are no training feature; the engagement is the one on the closing day. An open lead's counters
        and engagement are read as they are."""
        Lead = self.env['crm.lead']
        won = self.history.filtered(lambda lead: lead.won_status == 'won')[:1]
        other = self.history.filtered(lambda lead: lead.won_status == 'lost')[:1]
        self.env.ref('lead_intelligence.event_type_meeting').is_buying_signal = True
        closed = won.date_closed

        def event(lead, code, when, key):
            return {'type': code, 'occurred_at': when.isoformat() + 'Z', 'lead_id': lead.id, 'external_id': key}

        results = self.env['crm.lead.event']._ingest([
            event(won, 'email_reply', closed - timedelta(days=2), 'reply-before'),
            event(won, 'email_reply', closed + timedelta(minutes=30), 'reply-after'),
            event(won, 'meeting', closed + timedelta(minutes=40), 'meeting-after'),
            event(won, 'demo_request', closed + timedelta(minutes=50), 'demo-after'),
            event(won, 'time_on_site', closed + timedelta(minutes=20), 'time-after') | {'value': 300},
            event(other, 'email_reply', other.date_closed - timedelta(hours=3), 'other-before'),
        ])
        self.assertEqual({result['status'] for result in results}, {'accepted'})
        with self._mock_commit_progress():
            self.env['crm.lead.event']._cron_count_events()
        (won + other).invalidate_recordset()
        self.assertEqual((won.meeting_count, won.buying_signal_count, won.time_on_site), (1, 2, 300))
        leads = (won + other).sorted('id')
        ids, closed_columns, _outcome = Lead._read_model_features(
            Lead._query_leads(leads.ids), MODEL_FEATURES, outcome=True)
        _ids, open_columns = Lead._read_model_features(Lead._query_leads(leads.ids), MODEL_FEATURES)
        at = {lead_id: index for index, lead_id in enumerate(ids.tolist())}
        for name, taken_off in (('email_reply_count', 1), ('meeting_count', 1), ('buying_signal_count', 2),
                                ('time_on_site', 300), ('visit_count', 0)):
            self.assertEqual(open_columns[name][at[won.id]], won[name], name)
            self.assertEqual(closed_columns[name][at[won.id]], won[name] - taken_off, name)
            self.assertEqual(closed_columns[name][at[other.id]], other[name], name)
        # engagement: the reply two days before closing, decayed to the closing day (stored: to today)
        reply = self.env.ref('lead_intelligence.event_type_email_reply')
        high = self.env['res.config.settings']._get_lead_intelligence_settings()['engagement_points_high']
        expected = math.floor(min(100.0, 100.0 * reply.points * 0.5 ** (2 / reply.half_life) / high) + 0.5)
        self.assertGreater(expected, 0)
        self.assertEqual(closed_columns['engagement_score'][at[won.id]], expected)
        self.assertEqual(open_columns['engagement_score'][at[won.id]], won.engagement_score)
        other_reply = math.floor(min(100.0, 100.0 * reply.points * 0.5 ** (3 / 24 / reply.half_life) / high) + 0.5)
        self.assertEqual(closed_columns['engagement_score'][at[other.id]], other_reply)

    def test_training_on_history_and_time_split(self):
        won, lost = self.env['crm.lead.scoring.model']._get_history_counts()
        model = self.env['crm.lead.scoring.model']._train_model()
        self.assertEqual(model.state, 'active')
        self.assertEqual((model.n_won, model.n_lost), (won, lost))
        # chosen on time folds, measured on the newest fifth, then refitted on every closed lead
        self.assertEqual(model.n_train, won + lost)
        self.assertEqual(model.n_valid, round((won + lost) * 0.2))
        self.assertGreater(model.roc_auc, 0.75)
        self.assertTrue(0 < model.brier_score < 0.25)
        self.assertGreater(min(model.logreg_auc, model.hgb_auc), 0.7)
        kept = 'C=' if model.algorithm == 'logreg' else 'max_leaf_nodes='
        self.assertIn(kept, model.hyperparameters)  # the settings validation chose are on the record
        # the validation leads are the newest closed ones
        newer = self.env['crm.lead'].with_context(active_test=False).search_count([
            ('won_status', 'in', ('won', 'lost')), ('date_closed', '>=', model.validation_cutoff)])
        self.assertEqual(newer, model.n_valid)
        self.assertEqual(len(model.calibration_ids), 10)
        self.assertEqual(sum(model.calibration_ids.mapped('count')), model.n_valid)
        self.assertEqual(model.tier_stat_ids.tier_id, self.tier_a + self.tier_b + self.tier_c + self.tier_d)
        self.assertEqual(sum(model.tier_stat_ids.mapped('count')), model.n_valid)
        self.assertIn('Industry', model.feature_names)
        self.assertNotIn('Stage', model.feature_names.splitlines())
        document = json.loads(model.parameters)
        self.assertEqual((document['schema'], document['algorithm']), (engine_model.SCHEMA, model.algorithm))
        self.assertTrue(self.env['crm.lead.score.run'].search([('state', '=', 'running'), ('cause', '=', 'config')]))
        # calibrated to the newest closed leads: their mean predicted probability is their win rate, the
        # newest of them weighing most
        self.assertEqual(set(document['calibration']), {'slope', 'intercept'})
        # too few validation leads to try an isotonic map: Platt's slope, and the form says so
        self.assertLess(model.n_valid, ISOTONIC_MIN_LEADS)
        self.assertEqual(model.calibration_method, 'platt')
        features = model._model_features()
        columns, outcomes = model._read_training_data(self.env.company, model._get_training_window()[0], features)
        newest = np.flatnonzero(outcomes.closed_at >= model.validation_cutoff.replace(tzinfo=UTC).timestamp())
        self.assertEqual(len(newest), model.n_valid)
        predicted = model._get_engine_model().predict_proba(engine_model.subset(columns, features, newest))
        weights = recency_weights(outcomes.closed_at[newest])
        self.assertAlmostEqual(np.average(predicted, weights=weights),
                               np.average(outcomes.won[newest], weights=weights), delta=0.01)

    def test_behaviour_never_lowers_the_prediction_unless_turned_off(self):
        """The setting reaches the fits: the counters and the engagement are trained as increasing."""
        configs = []
        train = engine_model.train

        def spy(config, *args, **kwargs):
            configs.append(config)
            return train(config, *args, **kwargs)

        with patch.object(engine_model, 'train', spy):
            model = self.env['crm.lead.scoring.model']._train_model()
            self.env['ir.config_parameter'].sudo().set_param('lead_intelligence.model_increasing_behaviour', 'False')
            self.env['crm.lead.scoring.model']._train_model()
        self.assertIn('buying_signal_count', configs[0].increasing)
        self.assertIn('engagement_score', configs[0].increasing)
        self.assertEqual(configs[1].increasing, ())
        # the model trained with it on: more buying signals never lower a lead's probability
        engine = model._get_engine_model()
        # twelve leads alike but for their buying signals, 0 to 11
        rows = {}
        for entry in engine.encoder.spec:
            if entry['kind'] == 'multi':
                rows[entry['name']] = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
            elif entry['kind'] in ('category', 'ordinal'):
                rows[entry['name']] = np.array([None] * 12, dtype=object)
            else:
                rows[entry['name']] = np.zeros(12)
        rows['buying_signal_count'] = np.arange(12.0)
        self.assertTrue(np.all(np.diff(engine.predict_proba(rows)) >= -1e-12))

    def test_recent_leads_weigh_more_with_the_half_life_setting(self):
        """The half-life set in Settings reaches the fits: the same history trains another model."""
        flat = self.env['crm.lead.scoring.model']._train_model()
        self.env['ir.config_parameter'].sudo().set_param('lead_intelligence.model_recency_half_life_days', '30')
        weighted = self.env['crm.lead.scoring.model']._train_model()
        self.assertNotEqual(json.loads(flat.parameters), json.loads(weighted.parameters))
        self.env['ir.config_parameter'].sudo().set_param('lead_intelligence.model_recency_half_life_days', '-1')
        with self.assertRaises(UserError):
            self.env['crm.lead.scoring.model']._train_model()

    def test_model_probability_blends_into_the_score_and_is_explained(self):
        self._set_weights(fit=100, engagement=0, model=50)
        good, poor = self._open_leads()
        self.env['crm.lead']._score_leads((good + poor).ids, 'manual')
        self.assertEqual((good.model_probability, good.score), (0, 30))  # no model yet: fit only
        self.env['crm.lead.scoring.model']._train_model()
        self.env['crm.lead']._score_leads((good + poor).ids, 'manual')
        self.assertGreater(good.model_probability, poor.model_probability + 0.3)
        for lead in good + poor:
            self.assertAlmostEqual(lead.model_score, 100 * lead.model_probability, delta=0.51)
            self.assertAlmostEqual(lead.score, (100 * lead.fit_score + 50 * 100 * lead.model_probability) / 150,
                                   delta=0.51)
        config = self.env['crm.lead']._get_scoring_config()
        leads = good + poor
        explained = self.env['crm.lead']._explain_model(np.array(leads.ids), np.array(leads.company_id.ids * 2), config,
                                                        top=50)
        for lead in leads:
            explanation = explained[lead.id]
            total = explanation['base'] + sum(points for _words, points in explanation['factors'])
            self.assertAlmostEqual(total + explanation['other'], explanation['score'], places=6)
            self.assertLess(abs(explanation['other']), 0.5 * len(MODEL_FEATURES))  # only the factors below half a point
            self.assertAlmostEqual(explanation['score'], 100 * lead.model_probability, delta=0.01)
        good_words, poor_words = dict(explained[good.id]['factors']), dict(explained[poor.id]['factors'])
        self.assertGreater(good_words['Industry: Machine Building'], 0)
        self.assertGreater(good_words['Email Replies: 4'], 0)
        self.assertLess(poor_words['Industry: Hospitality'], 0)
        self.assertLess(poor_words['No Email Replies'], 0)
        text = str(good.score_explanation)
        self.assertIn('Industry: Machine Building', text)
        self.assertIn(f'+ 33% model {good.model_score} = {good.score}', text)

    def test_worse_candidate_is_not_activated(self):
        first = self.env['crm.lead.scoring.model']._train_model()
        # a model that can learn nothing: only the language, which no lead has
        with patch.object(CrmLeadScoringModel, '_model_features',
                          lambda self: [engine_model.category('lang_id')]):
            second = self.env['crm.lead.scoring.model']._train_model()
        self.assertEqual((first.state, second.state), ('active', 'candidate'))
        self.assertAlmostEqual(second.roc_auc, 0.5, places=6)
        self.assertGreater(second.compared_auc, second.roc_auc)
        self.assertEqual(self.env['crm.lead.scoring.model']._get_active_model(self.env.company), first)
        # the administrator decides otherwise, explicitly: it failed its quality gates
        with self.assertRaisesRegex(UserError, 'failed its quality gates'):
            second.action_activate()
        second.with_context(lead_intelligence_activate_anyway=True).action_activate()
        self.assertEqual((first.state, second.state), ('retired', 'active'))
        # a new good model is better than the useless active one on the same leads: it takes over
        third = self.env['crm.lead.scoring.model']._train_model()
        self.assertEqual((second.state, third.state), ('retired', 'active'))
        self.assertGreater(third.roc_auc, third.compared_auc)

    def test_a_lead_without_company_is_scored_by_the_main_company_model(self):
        self.assertEqual(self.env.company, self.env.ref('base.main_company'))
        self.env['crm.lead.scoring.model']._train_model()
        lead = self.env['crm.lead'].create({
            'name': 'Web form lead', 'industry_id': self.industry_good.id, 'user_id': False, 'team_id': False})
        lead.company_id = False
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.assertFalse(lead.company_id)
        self.assertGreater(lead.model_probability, 0)
        self.assertIn('Industry: Machine Building', str(lead.score_explanation))

    def test_a_model_no_better_than_chance_is_not_activated(self):
        # no active model, but one that can learn nothing: only the language, which no lead has
        with patch.object(CrmLeadScoringModel, '_model_features',
                          lambda self: [engine_model.category('lang_id')]):
            useless = self.env['crm.lead.scoring.model']._train_model()
        self.assertEqual(useless.state, 'candidate')
        self.assertFalse(self.env['crm.lead.scoring.model']._get_active_model(self.env.company))
        self.assertIn('below the minimum 0.60', useless.message_ids[:1].body)
        self.assertFalse(useless.quality_passed)

    def test_too_little_history(self):
        self.env['ir.config_parameter'].sudo().set_param('lead_intelligence.model_min_won', 100000)
        with self.assertRaisesRegex(UserError, 'Too little history .* at least 100000 won'):
            self.env['crm.lead.scoring.model']._train_model()
        status = self.env['res.config.settings'].create({}).lead_intelligence_model_status
        self.assertIn('too little history', status)
        self.assertIn('need 100000 won', status)
        with self._mock_commit_progress(), \
                mute_logger('odoo.addons.lead_intelligence.models.prediction.crm_lead_scoring_model'):
            self.env['crm.lead.scoring.model']._cron_train_model()
        self.assertFalse(self.env['crm.lead.scoring.model'].search([]))
        wizard = self.env['crm.lead.scoring.model.train.wizard'].create({})
        self.assertFalse(wizard.enough_history)

    def _set_weekly_due(self, due):
        cron = self.env.ref('lead_intelligence.ir_cron_train_lead_scoring_model').sudo()
        cron.nextcall = fields.Datetime.now() + timedelta(days=-1 if due else 3)

    def _run_cron(self, weekly=False):
        """Run the training cron, its progress cursors on the test's transaction."""
        self._set_weekly_due(weekly)
        with self.enter_registry_test_mode(), self._mock_commit_progress() as commits:
            self.env['crm.lead.scoring.model'].sudo()._cron_train_model()
        return commits

    def test_cron_trains_and_settings_tell(self):
        # triggered for the trainings asked for only: the weekly run is not due
        self._run_cron(weekly=False)
        self.assertFalse(self.env['crm.lead.scoring.model'].search([]))
        self.assertFalse(self.env['crm.lead.scoring.model.training'].search([]))
        no_history = self.env['res.company'].create({'name': 'Company Without History'})
        commits = self._run_cron(weekly=True)
        model = self.env['crm.lead.scoring.model'].search([('company_id', '=', self.env.company.id)])
        self.assertEqual(len(model), 1)
        self.assertEqual(model.state, 'active')
        companies = self.env['res.company'].search([])
        trainings = self.env['crm.lead.scoring.model.training'].search([])
        self.assertEqual(trainings.company_id, companies)
        self.assertEqual(len(trainings), len(companies))
        training = trainings.filtered(lambda training: training.company_id == self.env.company)
        self.assertEqual((training.state, training.model_id, training.progress), ('done', model, 100))
        self.assertFalse(training.user_id)
        other = trainings.filtered(lambda training: training.company_id == no_history)
        self.assertEqual((other.state, other.model_id), ('failed', self.env['crm.lead.scoring.model']))
        self.assertIn('Too little history to train a lead scoring model for Company Without History', other.message)
        self.assertGreaterEqual(len(commits), 2 * len(companies) + 2)
        # a run cut short resumes: the companies trained since the due date are not trained again
        with self.enter_registry_test_mode(), self._mock_commit_progress():
            self.env['crm.lead.scoring.model'].sudo()._cron_train_model()
        self.assertEqual(self.env['crm.lead.scoring.model.training'].search([]), trainings)
        status = self.env['res.config.settings'].create({}).lead_intelligence_model_status
        self.assertIn(f'ROC AUC {model.roc_auc:.3f}', status)
        self.assertTrue(self.env.ref('lead_intelligence.ir_cron_train_lead_scoring_model').active)

    @users('user_sales_manager')
    def test_wizard_shows_history_and_trains(self):
        wizard = self.env['crm.lead.scoring.model.train.wizard'].create({})
        won, lost = self.env['crm.lead.scoring.model']._get_history_counts()
        self.assertEqual((wizard.won_count, wizard.lost_count, wizard.enough_history), (won, lost, True))
        action = wizard.action_train()
        training = self.env['crm.lead.scoring.model.training'].browse(action['res_id'])
        self.assertEqual(action['res_model'], 'crm.lead.scoring.model.training')
        self.assertEqual(training.state, 'queued')
        self._run_cron()
        self.assertEqual(training.state, 'done')
        model = training.model_id
        self.assertEqual(model.state, 'active')
        self.assertEqual(training.action_open_model()['res_id'], model.id)
        self.assertEqual(len(model.calibration_ids), 10)
        calibration = model.action_open_calibration()
        self.assertEqual(self.env['crm.lead.scoring.model.calibration'].search(calibration['domain']),
                         model.calibration_ids)
        # a salesperson sees the model and its figures, not its parameters, and cannot train
        self.assertEqual(model.with_user(self.user_sales_salesman).roc_auc, model.roc_auc)
        with self.assertRaises(AccessError):
            self.env['crm.lead.scoring.model.train.wizard'].with_user(self.user_sales_salesman).create({})

    def test_retiring_or_deleting_the_model_falls_back(self):
        self._set_weights(fit=100, engagement=0, model=50)
        good, _poor = self._open_leads()
        model = self.env['crm.lead.scoring.model']._train_model()
        self.env['crm.lead']._score_leads(good.ids, 'manual')
        self.assertTrue(good.model_probability)
        self.assertNotEqual(good.score, good.fit_score)
        model.action_retire()
        self.assertEqual(model.state, 'retired')
        with self._mock_commit_progress():
            self.env['crm.lead']._cron_rescore_all_leads()
        self.assertFalse(good.model_probability)
        self.assertEqual(good.score, good.fit_score)
        self.assertNotIn('model', str(good.score_explanation).split('Score =')[-1])
        model.action_activate()
        self.env['crm.lead']._score_leads(good.ids, 'manual')
        self.assertTrue(good.model_probability)
        model.unlink()
        self.assertTrue(self.env['crm.lead.score.run'].search([('state', '=', 'running'), ('cause', '=', 'config')]))
        self.env['crm.lead']._score_leads(good.ids, 'manual')
        self.assertFalse(good.model_probability)
        self.assertEqual(good.score, good.fit_score)

    def test_zero_model_weight_shows_the_probability_without_counting_it(self):
        self._set_weights(fit=100, engagement=0, model=0)
        good, _poor = self._open_leads()
        self.env['crm.lead.scoring.model']._train_model()
        self.env['crm.lead']._score_leads(good.ids, 'manual')
        self.assertTrue(good.model_probability)
        self.assertEqual(good.score, good.fit_score)
        self.assertIn(f'+ 0% model {good.model_score} = {good.score}', str(good.score_explanation))

    def test_changing_the_model_weight_rescores(self):
        self.env['crm.lead.score.run'].search([]).unlink()
        self.env['res.config.settings'].create({'lead_intelligence_weight_model': 10}).execute()
        self.assertTrue(self.env['crm.lead.score.run'].search([('state', '=', 'running'), ('cause', '=', 'config')]))

    def test_tampered_parameters_are_refused(self):
        self._set_weights(fit=100, engagement=0, model=50)
        good, _poor = self._open_leads()
        model = self.env['crm.lead.scoring.model']._train_model()
        for change in (
            lambda document: document.update(algorithm='pickle'),
            lambda document: document['features'].append({
                'name': 'stage_id', 'kind': 'category', 'label': 'Stage', 'keys': [], 'other': False,
                'missing': False}),
        ):
            document = json.loads(model.parameters)
            change(document)
            forged = model.copy({'parameters': json.dumps(document), 'state': 'candidate'})
            with self.assertRaisesRegex(UserError, 'cannot be used'):
                forged._get_engine_model()
            forged.unlink()
        # an active model that cannot be loaded scores nothing, and scoring goes on without it
        model.write({'parameters': '\x80\x04\x95 not json'})
        with mute_logger('odoo.addons.lead_intelligence.models.prediction.crm_lead'):
            self.env['crm.lead']._score_leads(good.ids, 'manual')
        self.assertFalse(good.model_probability)
        self.assertEqual(good.score, good.fit_score)

    def test_only_closed_leads_within_the_window_count(self):
        won, lost = self.env['crm.lead.scoring.model']._get_history_counts()
        self.env['ir.config_parameter'].sudo().set_param('lead_intelligence.model_window_days', 5)
        recent_won, recent_lost = self.env['crm.lead.scoring.model']._get_history_counts()
        self.assertLess(recent_won + recent_lost, won + lost)
        history_recent = self.history.filtered(
            lambda lead: lead.date_closed >= fields.Datetime.now() - timedelta(days=5))
        self.assertGreaterEqual(recent_won + recent_lost, len(history_recent))


    # background training, with its progress

    def _request(self):
        action = self.env['crm.lead.scoring.model.train.wizard'].create({}).action_train()
        self.assertEqual(action['res_model'], 'crm.lead.scoring.model.training')
        return self.env['crm.lead.scoring.model.training'].browse(action['res_id'])

    @users('user_sales_manager')
    def test_wizard_queues_one_training_per_company(self):
        cron = self.env.ref('lead_intelligence.ir_cron_train_lead_scoring_model').sudo()
        triggers = self.env['ir.cron.trigger'].sudo().search([('cron_id', '=', cron.id)])
        training = self._request()
        self.assertEqual((training.state, training.company_id, training.user_id),
                         ('queued', self.env.company, self.env.user))
        self.assertFalse(training.model_id)
        # the cron is started at once
        self.assertGreater(len(self.env['ir.cron.trigger'].sudo().search([('cron_id', '=', cron.id)])), len(triggers))
        # a second request follows the one under way
        self.assertEqual(self._request(), training)
        wizard = self.env['crm.lead.scoring.model.train.wizard'].create({})
        self.assertEqual(wizard.training_id, training)
        # once done, a new request queues a new training
        self._run_cron()
        self.assertEqual(training.state, 'done')
        second = self._request()
        self.assertNotEqual(second, training)
        self.assertEqual(second.state, 'queued')
        # a salesperson follows the trainings but cannot ask for one
        self.assertEqual(training.with_user(self.user_sales_salesman).state, 'done')
        with self.assertRaises(AccessError):
            self.env['crm.lead.scoring.model.training'].with_user(self.user_sales_salesman).create({})

    def test_cron_runs_the_queued_training_to_done(self):
        training = self._request()
        self._run_cron()
        model = self.env['crm.lead.scoring.model']._get_active_model(self.env.company)
        self.assertTrue(model)
        self.assertEqual((training.state, training.progress, training.model_id), ('done', 100, model))
        self.assertEqual(training.step, 'Done')
        self.assertFalse(training.message)
        self.assertTrue(training.date_start <= training.date_end)
        # the weekly run was not due: no training of the other companies
        self.assertEqual(self.env['crm.lead.scoring.model.training'].search([]), training)

    def test_too_little_history_fails_the_training(self):
        previous = self.env['crm.lead.scoring.model']._train_model()
        self.env['ir.config_parameter'].sudo().set_param('lead_intelligence.model_min_won', 100000)
        training = self._request()
        with mute_logger('odoo.addons.lead_intelligence.models.prediction.crm_lead_scoring_model'):
            self._run_cron()
        self.assertEqual(training.state, 'failed')
        self.assertRegex(training.message, 'Too little history .* at least 100000 won')
        self.assertFalse(training.model_id)
        self.assertTrue(training.date_end)
        self.assertEqual(self.env['crm.lead.scoring.model'].search([]), previous)
        self.assertEqual(previous.state, 'active')
        # a failed training does not block the next request
        self.assertNotEqual(self._request(), training)

    def test_error_while_training_fails_it_and_keeps_the_active_model(self):
        previous = self.env['crm.lead.scoring.model']._train_model()
        training = self._request()
        with patch.object(engine_model, 'train', side_effect=MemoryError('out of memory')), \
                mute_logger('odoo.addons.lead_intelligence.models.prediction.crm_lead_scoring_model'):
            self._run_cron()
        self.assertEqual(training.state, 'failed')
        self.assertIn('out of memory', training.message)
        self.assertEqual(self.env['crm.lead.scoring.model'].search([]), previous)
        self.assertEqual(previous.state, 'active')

    def test_progress_is_committed_by_a_cursor_of_its_own(self):
        training = self._request()
        written, opened = [], []
        write_progress = CrmLeadScoringModelTraining._write_progress
        open_cursor = None

        def spy_write(records, vals):
            written.append((records.id, dict(vals)))
            return write_progress(records, vals)

        def spy_cursor(*args, **kwargs):
            cr = open_cursor(*args, **kwargs)
            opened.append(cr)
            return cr

        self._set_weekly_due(False)
        with self.enter_registry_test_mode(), self._mock_commit_progress():
            open_cursor = self.env.registry.cursor  # the test mode's: cursors on the test's transaction
            with patch.object(CrmLeadScoringModelTraining, '_write_progress', spy_write), \
                    patch.object(self.env.registry, 'cursor', spy_cursor), \
                    patch('odoo.addons.lead_intelligence.models.prediction.crm_lead_scoring_model.TRAIN_BATCH_SIZE',
                          100):
                self.env['crm.lead.scoring.model'].sudo()._cron_train_model()
        self.assertEqual(training.state, 'done')
        self.assertEqual({training_id for training_id, _vals in written}, {training.id})
        self.assertGreaterEqual(len(opened), len(written))
        self.assertNotIn(self.env.cr, opened)
        percents = [vals['progress'] for _id, vals in written if 'progress' in vals]
        self.assertEqual(percents, sorted(percents))
        self.assertEqual(percents[-1], 100)
        self.assertLess(percents[0], 10)
        steps = [vals['step'] for _id, vals in written if 'step' in vals]
        won, lost = self.env['crm.lead.scoring.model']._get_history_counts()
        total = f'{won + lost:,}'
        # read in batches of 100: each batch tells how far the reading is
        reading = [step for step in steps if step.startswith('Reading')]
        self.assertEqual(reading[0], f'Reading 0 of {total} closed leads')
        self.assertEqual(reading[1], f'Reading 100 of {total} closed leads')
        self.assertEqual(reading[-1], f'Reading {total} of {total} closed leads')
        self.assertEqual(len(reading), 1 + math.ceil((won + lost) / 100))
        for step in ('Training logistic regression', 'Training gradient boosting', 'Validating on the newest 20 %',
                     'Done'):
            self.assertIn(step, steps)
        self.assertLess(steps.index('Training logistic regression'), steps.index('Training gradient boosting'))
        self.assertLess(steps.index('Training gradient boosting'), steps.index('Validating on the newest 20 %'))
        self.assertEqual(written[-1][1]['state'], 'done')

    def test_training_views_load(self):
        Training = self.env['crm.lead.scoring.model.training']
        views = Training.get_views([(False, 'list'), (False, 'form'), (False, 'search')])['views']
        self.assertIn('progressbar', views['list']['arch'])
        self.assertIn('progressbar', views['form']['arch'])
        self.assertIn('action_open_model', views['form']['arch'])
        self.assertIn('filter_pending', views['search']['arch'])
        action = self.env['ir.actions.act_window']._for_xml_id(
            'lead_intelligence.crm_lead_scoring_model_training_action')
        self.assertEqual(action['res_model'], Training._name)
        self.assertTrue(self.env.ref('lead_intelligence.crm_menu_config_scoring_model_trainings').action)
        wizard_arch = self.env['crm.lead.scoring.model.train.wizard'].get_views([(False, 'form')])['views']['form']
        self.assertIn('training_id', wizard_arch['arch'])


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestScoringModelMultiCompany(TestLeadIntelligenceCommon):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._activate_multi_company()
        cls.industry_good, cls.industry_other = cls.env['res.partner.industry'].create([
            {'name': 'Machine Building'}, {'name': 'Hospitality'}])
        create_history(cls.env, 160, cls.company_2, cls.industry_good + cls.industry_other)

    def test_models_are_per_company(self):
        self.env['ir.config_parameter'].sudo().set_param('lead_intelligence.weight_model', 50)
        Model = self.env['crm.lead.scoring.model']
        model_2 = Model.with_company(self.company_2)._train_model()
        self.assertEqual(model_2.company_id, self.company_2)
        self.assertFalse(Model._get_active_model(self.company_main))
        lead_1 = self._create_lead(company_id=self.company_main.id, industry_id=self.industry_good.id)
        lead_2 = self.env['crm.lead'].create({'name': 'C2 lead', 'company_id': self.company_2.id,
                                              'industry_id': self.industry_good.id})
        self.env['crm.lead']._score_leads((lead_1 + lead_2).ids, 'manual')
        self.assertFalse(lead_1.model_probability)
        self.assertTrue(lead_2.model_probability)
        self.env['ir.config_parameter'].sudo().set_param('lead_intelligence.model_min_lost', 40)
        with self.assertRaisesRegex(UserError, 'Too little history'):
            Model.with_company(self.company_main)._train_model()

    def test_users_see_their_companies_models(self):
        model_2 = self.env['crm.lead.scoring.model'].with_company(self.company_2)._train_model()
        self.assertNotIn(model_2, self.env['crm.lead.scoring.model'].with_user(self.user_sales_leads).search([]))
        self.assertIn(model_2, self.env['crm.lead.scoring.model'].with_user(self.user_sales_manager_mc).with_context(
            allowed_company_ids=[self.company_2.id]).search([]))

    def test_salesperson_reads_the_model_explanation(self):
        self.env['ir.config_parameter'].sudo().set_param('lead_intelligence.weight_model', 50)
        model = self.env['crm.lead.scoring.model'].with_company(self.company_2)._train_model()
        lead = self.env['crm.lead'].create({'name': 'C2 lead', 'company_id': self.company_2.id,
                                            'industry_id': self.industry_good.id})
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        explanation = str(lead.with_user(self.user_sales_manager_mc).with_context(
            allowed_company_ids=[self.company_2.id]).score_explanation)
        # the model's part, its factors in words (which ones the training decides)
        self.assertIn(f'Model {model.name}', explanation)
        self.assertIn('o_lead_model_explanation', explanation)
        self.assertIn(f'model {lead.model_score} = {lead.score}', explanation)
