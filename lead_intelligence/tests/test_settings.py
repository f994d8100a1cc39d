from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .common import TestLeadIntelligenceCommon


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestSettings(TestLeadIntelligenceCommon):

    def test_ceiling_must_be_above_floor(self):
        with self.assertRaisesRegex(ValidationError, 'must be above the floor'):
            self.env['res.config.settings'].create({
                'lead_intelligence_fit_points_low': 50, 'lead_intelligence_fit_points_high': 40})

    def test_weights_cannot_be_negative_nor_all_zero(self):
        with self.assertRaisesRegex(ValidationError, 'weights cannot be negative'):
            self.env['res.config.settings'].create({'lead_intelligence_weight_fit': -1})
        with self.assertRaisesRegex(ValidationError, 'at least one must be positive'):
            self.env['res.config.settings'].create({
                'lead_intelligence_weight_fit': 0, 'lead_intelligence_weight_engagement': 0})

    def test_zero_is_a_setting_not_a_missing_one(self):
        self.env['res.config.settings'].create({
            'lead_intelligence_weight_engagement': 0, 'lead_intelligence_burst_count': 0,
            'lead_intelligence_min_dwell': 0}).execute()
        settings = self.env['res.config.settings']._get_lead_intelligence_settings()
        self.assertEqual((settings['weight_engagement'], settings['burst_count'], settings['min_dwell']), (0, 0, 0))
        self.assertEqual(self.env['res.config.settings'].create({}).lead_intelligence_burst_count, 0)

    def test_behaviour_settings_are_checked(self):
        for values, message in [
            ({'lead_intelligence_engagement_points_high': 0}, 'engagement points for a score of 100'),
            ({'lead_intelligence_min_dwell': -1}, 'cannot be negative'),
            ({'lead_intelligence_api_max_events': 20000}, 'between 1 and 10,000'),
            ({'lead_intelligence_bot_user_agents': 'crawler|(unclosed'}, 'bot user agents are not valid'),
        ]:
            with self.subTest(values=values), self.assertRaisesRegex(ValidationError, message):
                self.env['res.config.settings'].create(values)

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
