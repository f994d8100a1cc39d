from datetime import datetime

from odoo.tests import tagged, users

from .common import TestLeadIntelligenceCommon


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestMultiCompany(TestLeadIntelligenceCommon):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._activate_multi_company()
        cls.rule_company_2 = cls.env['crm.lead.fit.rule'].create({
            'name': 'Company 2 only', 'domain': '[]', 'match_all': True, 'points': 20, 'company_id': cls.company_2.id})
        Tier = cls.env['crm.lead.tier']
        cls.tier_c2_low = Tier.create({'name': 'C2 low', 'min_score': 0, 'company_id': cls.company_2.id})
        cls.tier_c2_high = Tier.create({'name': 'C2 high', 'min_score': 15, 'company_id': cls.company_2.id})

    def test_company_rules_and_tiers_apply_to_their_company_only(self):
        lead_1 = self._create_lead(company_id=self.company_main.id)
        lead_2 = self.env['crm.lead'].create({'name': 'C2 lead', 'company_id': self.company_2.id})
        self.env['crm.lead']._score_leads((lead_1 + lead_2).ids, 'manual')
        self.assertEqual((lead_1.score, lead_1.tier_id), (0, self.tier_d))
        self.assertEqual((lead_2.score, lead_2.tier_id), (20, self.tier_c2_high))

    def test_an_account_takes_its_company_s_tiers(self):
        """The account roll-up's tier: its company's own tier set, else the shared one."""
        account_2 = self.env['res.partner'].create({'name': 'C2 account', 'is_company': True,
                                                    'company_id': self.company_2.id})
        shared = self.env['res.partner'].create({'name': 'Shared account', 'is_company': True})
        lead_2 = self.env['crm.lead'].create({'name': 'C2 lead', 'company_id': self.company_2.id,
                                              'partner_id': account_2.id})
        lead_1 = self._create_lead(company_id=self.company_main.id, partner_id=shared.id, expected_revenue=60000)
        self.env['crm.lead']._score_leads((lead_1 + lead_2).ids, 'manual')
        self.assertEqual((account_2.account_score, account_2.account_tier_id), (20, self.tier_c2_high))
        self.assertEqual(lead_2.account_tier_id, self.tier_c2_high)
        self.assertEqual((shared.account_score, shared.account_tier_id), (40, self.tier_c))
        # the top of a range, and a company that drops its own tiers for the shared ones
        self.tier_c2_high.min_score = 20
        self.env['crm.lead']._refresh_account_scores()
        self.assertEqual(account_2.account_tier_id, self.tier_c2_high, 'a score equal to the minimum takes the tier')
        self.tier_c2_high.min_score = 21
        self.env['crm.lead']._refresh_account_scores()
        self.assertEqual((account_2.account_tier_id, lead_2.account_tier_id), (self.tier_c2_low, self.tier_c2_low))
        (self.tier_c2_low | self.tier_c2_high).active = False
        self.env['crm.lead']._refresh_account_scores()
        self.assertEqual((account_2.account_tier_id, lead_2.account_tier_id), (self.tier_d, self.tier_d))

    def test_company_tier_sets_are_validated_separately(self):
        self.tier_c2_high.min_score = 40
        self.assertEqual(self.tier_c2_high.min_score, 40)
        with self.assertRefused('New Test Company.*overlap'):
            self.env['crm.lead.tier'].create({'name': 'C2 twin', 'min_score': 0, 'company_id': self.company_2.id})

    @users('user_sales_leads')
    def test_users_see_only_their_companies_configuration(self):
        self.assertNotIn(self.rule_company_2, self.env['crm.lead.fit.rule'].search([]))
        self.assertNotIn(self.tier_c2_high, self.env['crm.lead.tier'].search([]))
        self.assertIn(self.rule_revenue, self.env['crm.lead.fit.rule'].search([]))

    @users('user_sales_leads')
    def test_scores_and_history_of_other_companies_are_hidden(self):
        lead_2 = self.env['crm.lead'].sudo().create({
            'name': 'C2 lead', 'company_id': self.company_2.id, 'user_id': False})
        self.env['crm.lead'].sudo()._score_leads(lead_2.ids, 'manual')
        self.assertFalse(self.env['crm.lead.score'].search([('lead_id', '=', lead_2.id)]))
        self.assertFalse(self.env['crm.lead.score.history'].search([('lead_id', '=', lead_2.id)]))
        own = self._create_lead(function='CEO')
        self.env['crm.lead']._score_leads(own.ids, 'manual')
        self.assertEqual(self.env['crm.lead'].search([('id', '=', own.id), ('score', '>=', 30)]), own)

    @users('user_sales_leads')
    def test_behaviour_of_other_companies_is_hidden(self):
        lead_2 = self.env['crm.lead'].sudo().create({
            'name': 'C2 lead', 'company_id': self.company_2.id, 'user_id': False, 'email_from': 'c2@example.com'})
        own = self._create_lead(email_from='own@example.com')
        # sudo: events are logged by the system, not by salespeople
        Event = self.env['crm.lead.event'].sudo()
        inserted = Event._log_odoo_events([
            {'type': 'download', 'occurred_at': datetime(2026, 1, 5, 10), 'lead_id': lead.id,
             'external_id': f'mc-{lead.id}'} for lead in (lead_2, own)], 'import')
        self.assertEqual(len(inserted), 2)
        with self._mock_commit_progress():
            Event._cron_count_events()
        self.assertEqual(self.env['crm.lead.event'].search([('lead_id', 'in', (lead_2 + own).ids)]).lead_id, own)
        self.assertEqual(self.env['crm.lead.engagement'].search([('lead_id', 'in', (lead_2 + own).ids)]).lead_id,
                         own)

    def test_api_user_resolves_leads_of_its_companies_only(self):
        lead_2 = self.env['crm.lead'].create({
            'name': 'C2 lead', 'company_id': self.company_2.id, 'email_from': 'shared@example.com'})
        api_user = self.env['res.users'].create({
            'name': 'API main company', 'login': 'api_main', 'company_id': self.company_main.id,
            'company_ids': [(6, 0, self.company_main.ids)],
            'group_ids': [(6, 0, [self.env.ref('lead_intelligence.group_lead_intelligence_api').id,
                                  self.env.ref('base.group_user').id])]})
        results = self.env['crm.lead.event'].with_user(api_user)._ingest([
            {'type': 'download', 'occurred_at': '2026-01-05T10:00:00Z', 'email': 'shared@example.com',
             'external_id': 'mc-email'},
            {'type': 'download', 'occurred_at': '2026-01-05T10:00:00Z', 'lead_id': lead_2.id,
             'external_id': 'mc-id'}])
        self.assertEqual([result['status'] for result in results], ['rejected', 'rejected'])
        self.assertIn('no lead with email', results[0]['reason'])
