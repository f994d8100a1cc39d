from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .common import TestLeadIntelligenceCommon


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestSettings(TestLeadIntelligenceCommon):

    def test_ceiling_must_be_above_floor(self):
        with self.assertRaisesRegex(ValidationError, 'must be above the floor'):
            self.env['res.config.settings'].create({
                'lead_intelligence_fit_points_low': 50, 'lead_intelligence_fit_points_high': 40})

    def test_weight_must_be_positive(self):
        with self.assertRaisesRegex(ValidationError, 'weight must be positive'):
            self.env['res.config.settings'].create({'lead_intelligence_weight_fit': -1})

    def test_mapping_settings_change_scores_and_start_a_full_pass(self):
        lead = self._create_lead(function='CEO')
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.assertEqual(lead.fit_score, 30)
        self.env['crm.lead.score.run'].search([]).unlink()
        self.env['res.config.settings'].create({
            'lead_intelligence_fit_points_low': 0, 'lead_intelligence_fit_points_high': 60}).execute()
        self.assertTrue(self.env['crm.lead.score.run'].search([('state', '=', 'running'), ('cause', '=', 'config')]))
        with self._mock_commit_progress():
            self.env['crm.lead']._cron_rescore_all_leads()
        self.assertEqual(lead.fit_score, 50)
        self.assertEqual(lead.tier_id, self.tier_b)

    def test_logistic_mapping(self):
        self.env['res.config.settings'].create({'lead_intelligence_fit_mapping': 'logistic'}).execute()
        lead = self._create_lead(function='CEO', expected_revenue=60000, phone='+1 555 0106')  # 80 points
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.assertEqual(lead.fit_score, 85)  # 100 / (1 + exp(-ln(19) / 50 * (80 - 50)))

    def test_unrelated_settings_do_not_rescore(self):
        self.env['crm.lead.score.run'].search([]).unlink()
        self.env['res.config.settings'].create({'lead_intelligence_score_on_save': 'batch'}).execute()
        self.assertFalse(self.env['crm.lead.score.run'].search([]))

    def test_corrupted_parameter_gives_a_clear_error(self):
        self.env['ir.config_parameter'].sudo().set_param('lead_intelligence.fit_points_high', 'a lot')
        with self.assertRaisesRegex(UserError, 'lead_intelligence.fit_points_high'):
            self.env['crm.lead']._score_leads(self._create_lead().ids, 'manual')
