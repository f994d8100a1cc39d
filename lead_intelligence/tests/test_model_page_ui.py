from odoo.tests import HttpCase, tagged

from .common import TestLeadIntelligenceCommon
from .test_model import create_history


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestModelPageUi(HttpCase, TestLeadIntelligenceCommon):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env['ir.config_parameter'].sudo().set_param('lead_intelligence.weight_model', 50)
        cls.industry_good, industry_other = cls.env['res.partner.industry'].create([
            {'name': 'Tour Machine Building'}, {'name': 'Tour Hospitality'}])
        create_history(cls.env, 240, cls.env.company, cls.industry_good + industry_other)
        cls.model = cls.env['crm.lead.scoring.model']._train_model()

    def test_model_page_tour(self):
        self.assertEqual(self.model.state, 'active')
        self.assertEqual(len(self.model.calibration_lines), 10)
        action = self.env.ref('lead_intelligence.crm_lead_scoring_model_action')
        self.start_tour(f'/odoo/action-{action.id}/{self.model.id}', 'lead_intelligence_model_page_tour', login='admin')

    def test_win_probability_tour(self):
        lead = self.env['crm.lead'].create({
            'name': 'Tour page lead', 'type': 'opportunity', 'company_id': self.env.company.id,
            'industry_id': self.industry_good.id})
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.assertTrue(lead.model_sets_probability)
        self.start_tour(f'/odoo/crm/{lead.id}', 'lead_intelligence_win_probability_tour', login='admin')
