from odoo.tests import tagged, users

from .common import TestLeadIntelligenceCommon


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestTiers(TestLeadIntelligenceCommon):

    def test_overlapping_thresholds_are_refused(self):
        with self.assertRefused('overlap'):
            self.env['crm.lead.tier'].create({'name': 'Twin', 'min_score': 50})

    def test_gap_at_the_bottom_is_refused(self):
        with self.assertRefused('must start at 0'):
            self.tier_d.min_score = 10
        with self.assertRefused('must start at 0'):
            self.tier_d.unlink()
        with self.assertRefused('must start at 0'):
            self.tier_d.action_archive()
        self.assertTrue(self.tier_d.active, 'refused changes left the tier as it was')
        self.assertEqual(self.tier_d.min_score, 0)

    def test_thresholds_out_of_range_are_refused(self):
        with self.assertRefused('between 0 and 100'):
            self.tier_a.min_score = 101

    def test_tiers_keep_their_order(self):
        """A tier cannot start above a tier ranked above it, nor be moved above a tier that starts higher."""
        with self.assertRefused('Hot is ranked above Warm, so it must start higher'):
            self.tier_b.min_score = 90
        with self.assertRefused('Cold is ranked above Lukewarm, so it must start higher'):
            self.tier_d.sequence = 25
        self.assertEqual((self.tier_b.min_score, self.tier_d.sequence), (50, 40), 'refused changes left the tiers')
        # both moved together keep the order: Warm becomes the best tier
        (self.tier_b + self.tier_a).write({'sequence': 5})
        self.tier_b.min_score = 90
        self.assertEqual(self.env['crm.lead.tier'].search([]), self.tier_b + self.tier_a + self.tier_c + self.tier_d)

    def test_company_tiers_keep_their_order(self):
        self._activate_multi_company()
        Tier = self.env['crm.lead.tier']
        Tier.create({'name': 'C2 low', 'min_score': 0, 'sequence': 2, 'company_id': self.company_2.id})
        with self.assertRefused('Tiers of New Test Company: C2 low is ranked above C2 high'):
            Tier.create({'name': 'C2 high', 'min_score': 30, 'sequence': 3, 'company_id': self.company_2.id})
        Tier.create({'name': 'C2 high', 'min_score': 30, 'sequence': 1, 'company_id': self.company_2.id})

    def test_tier_follows_score_boundaries(self):
        self.rule_revenue.points = 75
        lead = self._create_lead(expected_revenue=50000)
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.assertEqual((lead.score, lead.tier_id), (75, self.tier_a))
        self.rule_revenue.points = 74
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.assertEqual((lead.score, lead.tier_id), (74, self.tier_b))

    def test_threshold_change_moves_leads(self):
        lead = self._create_lead(expected_revenue=50000, phone='+1 555 0100')  # 50 points
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.assertEqual(lead.tier_id, self.tier_b)
        self.tier_b.min_score = 55
        self.env['crm.lead']._score_leads(lead.ids, 'config')
        self.assertEqual(lead.tier_id, self.tier_c)

    @users('user_sales_salesman')
    def test_kanban_shows_every_tier_column(self):
        """group_expand: empty tiers still get their column, in tier order."""
        groups = self.env['crm.lead'].with_context(read_group_expand=True).web_read_group(
            [('id', '=', 0)], ['tier_id'], ['__count'])['groups']
        self.assertEqual([group['tier_id'][0] for group in groups],
                         (self.tier_a + self.tier_b + self.tier_c + self.tier_d).ids)

    def test_lead_count_and_open_action(self):
        lead = self._create_lead(expected_revenue=90000, function='CEO', phone='+1 555 0101')
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.assertEqual(self.tier_a.lead_count, 1)
        action = self.tier_a.action_open_leads()
        self.assertEqual(self.env['crm.lead'].search(action['domain']), lead)
