from odoo.exceptions import AccessError
from odoo.tests import tagged, users

from .common import TestLeadIntelligenceCommon


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestFitRules(TestLeadIntelligenceCommon):

    def test_points_add_up_including_negative_ones(self):
        big_ceo = self._create_lead(expected_revenue=80000, function='CEO', phone='+32 456 00 00 00')
        student = self._create_lead(function='Student', phone='+32 456 00 00 01')
        nothing = self._create_lead()
        self.env['crm.lead']._score_leads((big_ceo + student + nothing).ids, 'manual')
        self.assertEqual(big_ceo.fit_score, 80)
        self.assertEqual(student.fit_score, 0, 'negative points are clipped at the floor of the linear mapping')
        self.assertEqual(nothing.fit_score, 0)
        self.assertEqual(big_ceo.tier_id, self.tier_a)
        self.assertEqual(nothing.tier_id, self.tier_d)

    def test_negative_points_subtract(self):
        lead = self._create_lead(expected_revenue=60000, function='Student intern')
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.assertEqual(lead.fit_score, 20)
        self.assertEqual(lead.tier_id, self.tier_d)

    def test_chinese_job_title_matches(self):
        lead = self._create_lead(function='总经理', expected_revenue=50000)
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.assertEqual(lead.fit_score, 70)
        self.assertEqual(lead.tier_id, self.tier_b)

    def test_archived_rule_is_ignored(self):
        lead = self._create_lead(expected_revenue=90000)
        self.rule_revenue.action_archive()
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.assertEqual(lead.fit_score, 0)

    def test_rule_on_related_field(self):
        self.env['crm.lead.fit.rule'].create({
            'name': 'Company partner', 'domain': "[('partner_id.is_company', '=', True)]", 'points': 35})
        lead = self._create_lead(partner_id=self.contact_company_1.id)
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.assertEqual(lead.fit_score, 35)

    def test_bad_domains_are_refused_with_a_clear_error(self):
        Rule = self.env['crm.lead.fit.rule']
        for domain, reason in [
            ("[('expected_revenue', '>=', ", 'syntax error'),
            ("[('no_such_field', '=', 1)]", 'unknown field'),
            ("[('expected_revenue', 'resembles', 1)]", 'unknown operator'),
            ("__import__('os').system('true')", 'code is not evaluated'),
            ("[('user_id', '=', uid)]", 'names are not evaluated'),
            ("42", 'not a domain'),
        ]:
            with self.subTest(reason=reason), self.assertRefused('not a valid lead domain'):
                Rule.create({'name': reason, 'domain': domain, 'points': 5})
        with self.assertRefused('not a valid lead domain'):
            self.rule_phone.write({'domain': "[('phone', '=')]"})
        self.assertEqual(self.rule_phone.domain, "[('phone', '!=', False)]", 'the failed write changed nothing')

    def test_points_out_of_range_are_refused(self):
        for points in (101, -101, 1000):
            with self.subTest(points=points), self.assertRefused('points must be between -100 and 100'):
                self.env['crm.lead.fit.rule'].create({'name': 'Too much', 'domain': '[]', 'match_all': True,
                                                      'points': points})

    def test_rule_change_starts_a_full_rescore(self):
        self.env['crm.lead.score.run'].search([]).unlink()
        self.rule_phone.points = 15
        run = self.env['crm.lead.score.run'].search([('state', '=', 'running')])
        self.assertEqual(run.cause, 'config')
        self.rule_ceo.points = 35
        self.assertEqual(self.env['crm.lead.score.run'].search([('state', '=', 'running')]), run,
                         'a config pass not started yet is reused')

    @users('user_sales_salesman')
    def test_salesman_reads_but_cannot_edit_rules(self):
        rule = self.rule_revenue.with_env(self.env)
        self.assertEqual(rule.points, 40)
        with self.assertRaises(AccessError):
            rule.write({'points': 50})

    @users('user_sales_manager')
    def test_sales_manager_edits_rules(self):
        rule = self.env['crm.lead.fit.rule'].create({'name': 'Referred', 'domain': "[('referred', '!=', False)]"})
        rule.points = 12
        self.assertEqual(rule.points, 12)

    def test_matching_leads_action(self):
        action = self.rule_revenue.action_open_matching_leads()
        self.assertEqual(action['res_model'], 'crm.lead')
        self.assertIn(('expected_revenue', '>=', 50000), list(action['domain']))
