from datetime import timedelta

from odoo import fields
from odoo.tests import HttpCase, tagged

from .common import TestLeadIntelligenceCommon


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
