from datetime import timedelta

from odoo import fields
from odoo.tests import HttpCase, tagged
from odoo.tools import SQL

from .common import TestLeadIntelligenceCommon
from .test_model import create_history
from odoo.addons.mail.tests.common import mail_new_test_user


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestViews(TestLeadIntelligenceCommon):

    def test_every_view_of_the_module_loads(self):
        views = self.env['ir.ui.view'].search([('model_data_id.module', '=', 'lead_intelligence')])
        self.assertGreaterEqual(len(views), 12)
        for view in views:
            with self.subTest(view=view.xml_id):
                model = self.env[view.model]
                root = view if view.mode == 'primary' else view.inherit_id
                while root.mode != 'primary':
                    root = root.inherit_id
                arch = model.get_views([(root.id, root.type)])['views'][root.type]['arch']
                self.assertTrue(arch)

    def test_settings_view_loads_with_its_fields(self):
        arch = self.env['res.config.settings'].get_views([(False, 'form')])['views']['form']['arch']
        for name in ('lead_intelligence_fit_mapping', 'lead_intelligence_weight_fit',
                     'lead_intelligence_score_on_save'):
            self.assertIn(name, arch)


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestUi(HttpCase):

    def test_leads_by_tier_tour(self):
        # profile fit only: the tour expects the tier of the lead's fit
        self.env['ir.config_parameter'].sudo().set_param('lead_intelligence.weight_fit', 100)
        self.env['ir.config_parameter'].sudo().set_param('lead_intelligence.weight_engagement', 0)
        tiers = self.env['crm.lead.tier'].search([])
        self.assertTrue(tiers)
        lead = self.env['crm.lead'].create({
            'name': 'Tour lead from Shenzhen', 'function': '总经理', 'expected_revenue': 80000, 'phone': '+86 755 0000',
            'type': 'opportunity', 'partner_name': 'Shenzhen Bright Electronics'})
        yesterday = (fields.Datetime.now() - timedelta(days=1)).isoformat()
        self.env['crm.lead.event']._ingest([
            {'type': 'download', 'occurred_at': yesterday, 'lead_id': lead.id, 'external_id': 'tour-1'},
            {'type': 'visit', 'occurred_at': yesterday, 'lead_id': lead.id, 'external_id': 'tour-2',
             'value': 60, 'user_agent': 'Googlebot/2.1 (+http://www.google.com/bot.html)'},
        ])
        self.env['crm.lead.event']._count_chunk(lead.ids, self.env['crm.lead']._get_scoring_config())
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.assertTrue(lead.tier_id)
        self.start_tour('/odoo/action-lead_intelligence.crm_lead_action_by_tier', 'lead_intelligence_tour',
                        login='admin')

    def test_routing_tour(self):
        # profile fit only: the lead's tier is the tier of its fit
        params = self.env['ir.config_parameter'].sudo()
        params.set_param('lead_intelligence.weight_fit', 100)
        params.set_param('lead_intelligence.weight_engagement', 0)
        tier = self.env.ref('lead_intelligence.crm_lead_tier_b')
        industry = self.env['res.partner.industry'].create({'name': 'Tour Electronics'})
        rita, bruno = (mail_new_test_user(self.env, login=login, name=name, groups='sales_team.group_sale_salesman')
                       for login, name in (('tour_rita', 'Rita Router'), ('tour_bruno', 'Bruno Router')))
        team = self.env['crm.team'].create({'name': 'Tour Routing Team', 'use_leads': True, 'use_opportunities': True})
        # bruno first: rita gets the lead by her skill, not by the tie-break on the member
        member_bruno, member_rita = self.env['crm.team.member'].create([
            {'crm_team_id': team.id, 'user_id': user.id} for user in (bruno, rita)])
        member_rita.skill_industry_ids = industry
        self.env['crm.team.member.capacity'].create([
            {'member_id': member.id, 'tier_id': tier.id, 'max_open_leads': 5} for member in member_bruno + member_rita])
        rule = self.env['crm.lead.routing.rule'].create({
            'name': 'Tour skilled routing', 'sequence': 1, 'tier_ids': [(6, 0, tier.ids)], 'team_id': team.id,
            'match_all': True})
        lead = self.env['crm.lead'].create({
            'name': 'Tour routed lead', 'function': '总经理', 'expected_revenue': 80000, 'phone': '+86 755 0000',
            'type': 'opportunity', 'partner_name': 'Shenzhen Bright Electronics', 'industry_id': industry.id,
            'user_id': False})
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.assertEqual((lead.tier_id, lead.routing_state), (tier, 'to_route'))
        self.env['crm.lead']._route_leads(lead.ids)
        self.env.invalidate_all()
        self.assertEqual((lead.routing_state, lead.user_id, lead.team_id, lead.routing_rule_id),
                         ('routed', rita, team, rule))
        self.assertIn('Skills matched: industry (1 of 5)', lead.routing_reason)
        self.start_tour(f'/odoo/crm/{lead.id}', 'lead_intelligence_routing_tour', login='admin')

    def test_scoring_model_tour(self):
        params = self.env['ir.config_parameter'].sudo()
        params.set_param('lead_intelligence.weight_fit', 100)
        params.set_param('lead_intelligence.weight_engagement', 0)
        params.set_param('lead_intelligence.weight_model', 50)
        industry_good, industry_other = self.env['res.partner.industry'].create([
            {'name': 'Tour Machine Building'}, {'name': 'Tour Hospitality'}])
        create_history(self.env, 240, self.env.company, industry_good + industry_other)
        model = self.env['crm.lead.scoring.model']._train_model()
        self.assertEqual((model.state, model.n_valid, len(model.calibration_ids)), ('active', 48, 10))
        self.assertGreater(model.roc_auc, 0.75)
        self.assertLess(model.brier_score, 0.25)
        lead = self.env['crm.lead'].create({
            'name': 'Tour model lead', 'type': 'opportunity', 'function': 'CEO', 'company_id': self.env.company.id,
            'industry_id': industry_good.id})
        self.env.flush_all()
        self.env.execute_query(SQL('UPDATE crm_lead SET email_reply_count = 4 WHERE id = %s', lead.id))
        lead.invalidate_recordset()
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.assertGreater(lead.model_probability, 0.5)
        self.assertIn('Industry: Tour Machine Building', str(lead.score_explanation))
        self.start_tour('/odoo/crm', 'lead_intelligence_model_tour', login='admin')
