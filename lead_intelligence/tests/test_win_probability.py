from datetime import timedelta

from odoo import fields
from odoo.tests import tagged
from odoo.tools import SQL

from .test_model import TestModelHistoryCommon


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestModelWinProbability(TestModelHistoryCommon):
    """The model's probability as the lead's win probability, through crm's own automated probability."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.params = cls.env['ir.config_parameter'].sudo()
        cls.params.set_param('crm.pls_start_date', fields.Date.to_string(fields.Date.today() - timedelta(days=9000)))
        cls.model = cls.env['crm.lead.scoring.model']._train_model()
        cls.lead = cls._create_lead(cls, type='opportunity', industry_id=cls.industry_good.id, expected_revenue=10000,
                                    recurring_revenue=1200)
        cls.env['crm.lead']._score_leads(cls.lead.ids, 'manual')

    def _ours(self, lead):
        return round(100 * lead.model_probability, 2)

    def _odoo_pls(self, lead):
        """Odoo's own probability of ``lead``, from its frequency table rebuilt now, the setting off."""
        self.params.set_param('lead_intelligence.model_win_probability', 'False')
        self.env['crm.lead']._rebuild_pls_frequency_table()
        return lead._pls_get_naive_bayes_probabilities()[0][lead.id]

    def _set_setting(self, value):
        self.env['res.config.settings'].create({'lead_intelligence_model_win_probability': value}).execute()

    def test_pipeline_and_forecast_use_the_model_probability(self):
        self.assertEqual(self.model.state, 'active')
        self.assertTrue(self.model.quality_passed)
        lead = self.lead
        self.assertTrue(lead.model_probability)
        self.assertTrue(lead.model_sets_probability)
        self.assertEqual(lead.automated_probability, self._ours(lead))
        self.assertEqual(lead.probability, self._ours(lead))
        self.assertTrue(lead.is_automated_probability)
        self.assertAlmostEqual(lead.prorated_revenue, round(10000 * lead.probability / 100, 2))
        self.assertAlmostEqual(lead.recurring_revenue_prorated, 1200 * lead.probability / 100)
        # the forecast and the pipeline's expected revenue sum the prorated revenue
        [(prorated,)] = self.env['crm.lead']._read_group([('id', '=', lead.id)], aggregates=['prorated_revenue:sum'])
        self.assertAlmostEqual(prorated, round(10000 * self._ours(lead) / 100, 2))
        # Odoo's own recomputations keep it: a stage change, its nightly job
        lead.stage_id = self.env['crm.stage'].search([('id', '!=', lead.stage_id.id), ('is_won', '=', False)],
                                                     limit=1)
        self.assertEqual(lead.automated_probability, self._ours(lead))
        self.env['crm.lead']._cron_update_automated_probabilities()
        self.assertEqual(lead.automated_probability, self._ours(lead))
        self.assertEqual(lead.probability, self._ours(lead))

    def test_the_probability_the_pass_writes_is_rescored_once(self):
        """The pass writes the model's probability as crm's by SQL: the trigger flags the lead, so that
        the rules on the probability see it; the scoring job rescores it once, and it stays clean."""
        lead = self._create_lead(type='opportunity', industry_id=self.industry_good.id, expected_revenue=10000)
        self.env.flush_all()
        self.env.cr.execute('UPDATE crm_lead SET probability = 1, automated_probability = 1 WHERE id = %s', [lead.id])
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.env.invalidate_all()
        self.assertEqual(lead.probability, self._ours(lead))
        self.assertTrue(lead.score_dirty, 'its probability changed after its rules were matched')
        with self._mock_commit_progress():
            self.env['crm.lead']._cron_rescore_dirty_leads()
        self.env.invalidate_all()
        self.assertEqual((lead.probability, lead.score_dirty), (self._ours(lead), False))

    def test_a_manual_probability_still_wins(self):
        lead = self.lead
        lead.probability = 33
        self.assertFalse(lead.is_automated_probability)
        # the model's probability moves (a stale automated one stands for it): the manual one stays
        self.env.flush_all()
        self.env.execute_query(SQL('UPDATE crm_lead SET automated_probability = 1 WHERE id = %s', lead.id))
        lead.invalidate_recordset()
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.assertEqual(lead.automated_probability, self._ours(lead))
        self.assertEqual(lead.probability, 33)
        self.assertAlmostEqual(lead.prorated_revenue, 3300)
        # back to the automated one: the model's
        lead.action_set_automated_probability()
        self.assertEqual(lead.probability, self._ours(lead))

    def test_switching_off_gives_odoo_its_probability_back(self):
        lead = self.lead
        ours = self._ours(lead)
        self._set_setting(False)
        self.assertFalse(lead.model_sets_probability)
        pls = self._odoo_pls(lead)
        self.assertNotEqual(pls, ours)
        self.assertEqual(lead.automated_probability, pls)
        self.assertEqual(lead.probability, pls)
        # a pass leaves Odoo's probability alone
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.assertEqual(lead.automated_probability, pls)
        # switched on again: the model's, at once
        self._set_setting(True)
        lead.invalidate_recordset()
        self.assertEqual((lead.automated_probability, lead.probability), (ours, ours))

    def test_a_model_that_failed_its_gates_does_not_set_the_probability(self):
        self.params.set_param('lead_intelligence.model_min_valid_leads', 100000)
        failed = self.env['crm.lead.scoring.model']._train_model()
        self.assertEqual(failed.state, 'candidate')
        failed.with_context(lead_intelligence_activate_anyway=True).action_activate()
        self.env['crm.lead']._score_leads(self.lead.ids, 'manual')
        self.assertTrue(self.lead.model_probability)
        self.assertFalse(self.lead.model_sets_probability)
        pls = self.lead.automated_probability
        self.assertNotEqual(pls, self._ours(self.lead))
        self.assertEqual(pls, self._odoo_pls(self.lead))

    def test_retiring_the_model_gives_odoo_its_probability_back(self):
        self.model.action_retire()
        self.assertFalse(self.lead.model_sets_probability)
        self.assertEqual(self.lead.automated_probability, self._odoo_pls(self.lead))
        self.assertEqual(self.lead.probability, self.lead.automated_probability)

    def test_the_ai_tooltip_explains_the_model(self):
        data = self.lead.prepare_pls_tooltip_data()
        self.assertEqual(data['probability'], self._ours(self.lead))
        self.assertIn({'field': 'lead_intelligence_factor', 'value': 'Industry: Machine Building', 'color': False},
                      data['top_3_data'])
        self.assertTrue(all(entry['field'] == 'lead_intelligence_factor'
                            for entry in data['top_3_data'] + data['low_3_data']))

    def test_the_form_says_what_each_number_means(self):
        arch = self.env['crm.lead'].get_view(self.env.ref('crm.crm_lead_view_form').id, 'form')['arch']
        self.assertIn('o_lead_numbers_meaning', arch)
        self.assertIn('model_sets_probability', arch)

    def test_the_nightly_pass_reads_every_lead_of_a_company_with_a_model(self):
        """A model reads the lead's classes, which the dimensions classified after the scores move
        without flagging the lead: a nightly pass reads every open lead of a company with an active
        model, its scores settled or not; a lead of a company without one is left out."""
        Lead = self.env['crm.lead']
        elsewhere = self._create_lead(company_id=self.env['res.company'].create({'name': 'No Model'}).id,
                                      team_id=False)
        for _index in range(3):
            scored, run = self._scored_full_pass()
        self.assertEqual(run.settled_key, Lead._get_scoring_config().settled_key)
        self.assertIn(self.model.company_id.id, Lead._get_scoring_config().models)
        self.assertIn(self.lead.id, scored)
        self.assertNotIn(elsewhere.id, scored)
