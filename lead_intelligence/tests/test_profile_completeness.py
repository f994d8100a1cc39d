from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import TestLeadIntelligenceCommon


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestProfileCompleteness(TestLeadIntelligenceCommon):
    """A lead's profile completeness: the share of the expected profile fields it has filled in."""

    def _settings(self, names):
        fields = self.env['ir.model.fields'].browse([
            self.env['ir.model.fields']._get('crm.lead', name).id for name in names])
        self.env['res.config.settings'].create({'lead_intelligence_completeness_field_ids': [(6, 0, fields.ids)]}) \
            .execute()

    def test_share_of_the_default_fields_filled_in(self):
        industry = self.env['res.partner.industry'].create({'name': 'Bicycles'})
        empty = self._create_lead()
        half = self._create_lead(email_from='li@example.com', phone='+86 10 0000', function='CTO')
        full = self._create_lead(email_from='wang@example.com', phone='+86 21 0000', partner_name='Bright',
                                 function='CEO', industry_id=industry.id, company_size='large',
                                 country_id=self.env.ref('base.cn').id)
        self.assertEqual((empty.profile_completeness, half.profile_completeness, full.profile_completeness),
                         (0, 43, 100), '0/7, 3/7 rounded, 7/7')
        full.phone = False
        self.assertEqual(full.profile_completeness, 86)

    def test_the_pass_counts_the_size_it_classifies(self):
        lead = self._create_lead(email_from='li@example.com', employee_count=5000)
        self.assertEqual(lead.profile_completeness, 14)
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.env.invalidate_all()
        self.assertEqual((lead.company_size, lead.profile_completeness), ('large', 29), 'set by SQL, counted')

    def test_changing_the_expected_fields_recomputes_every_lead_and_rescores(self):
        lead = self._create_lead(email_from='li@example.com', phone='+86 10 0000')
        other = self._create_lead(function='CTO')
        self.assertEqual((lead.profile_completeness, other.profile_completeness), (29, 14))
        self.env['crm.lead']._score_leads((lead | other).ids, 'manual')
        Run = self.env['crm.lead.score.run']
        Run.search([('state', 'in', ('running', 'failed'))]).write({'state': 'cancel'})
        runs = Run.search([])
        self._settings(['email_from', 'phone'])
        self.assertEqual((lead.profile_completeness, other.profile_completeness), (100, 0))
        self.assertEqual(self.env['crm.lead']._get_completeness_fields(), ['email_from', 'phone'])
        self.assertEqual((Run.search([]) - runs).mapped('cause'), ['config'], 'a full pass is started')
        self.assertFalse(any((lead | other).mapped('score_dirty')), 'the UPDATE flags none: the full pass rescores')
        # the SQL of the settings gives what the ORM computes
        lead.write({'phone': False, 'function': 'CEO'})
        self.env.flush_all()
        computed = lead.profile_completeness
        self.env['crm.lead']._recompute_profile_completeness()
        self.env.invalidate_all()
        self.assertEqual(lead.profile_completeness, computed)
        with self.assertRaisesRegex(ValidationError, 'at least one expected profile field'):
            self._settings([])
        self.assertEqual(self.env['crm.lead']._get_completeness_fields(), ['email_from', 'phone'])

    def test_a_fit_rule_on_completeness(self):
        rule = self.env['crm.lead.fit.rule'].create({
            'name': 'Complete profile', 'domain': "[('profile_completeness', '>=', 80)]", 'points': 20})
        complete = self._create_lead(email_from='wang@example.com', phone='+86 21 0000', partner_name='Bright',
                                     function='Buyer', company_size='large', country_id=self.env.ref('base.cn').id)
        sparse = self._create_lead(email_from='li@example.com')
        self.env['crm.lead']._score_leads((complete | sparse).ids, 'manual')
        self.env.invalidate_all()
        self.assertEqual(complete.profile_completeness, 86)
        self.assertEqual((complete.fit_score, sparse.fit_score), (30, 0), 'Complete profile +20, Phone given +10')
        self.assertIn(rule.name, complete.score_explanation)
        sparse.write({'phone': '+86 10 0000', 'partner_name': 'Li Co', 'function': 'Engineer',
                      'company_size': 'small', 'country_id': self.env.ref('base.cn').id})
        self.env['crm.lead']._score_leads(sparse.ids, 'manual')
        self.env.invalidate_all()
        self.assertEqual((sparse.profile_completeness, sparse.fit_score), (86, 30))

    def test_a_classification_rule_on_completeness(self):
        lead_class = self.env['crm.lead.class'].create({'name': 'Profile to complete'})
        self.env['crm.lead.classification.rule'].create({
            'name': 'Incomplete', 'dimension': 'class', 'class_id': lead_class.id,
            'domain': "[('profile_completeness', '<', 50)]"})
        sparse, rich = self._create_lead(email_from='li@example.com'), self._create_lead(
            email_from='wang@example.com', phone='+86 21 0000', partner_name='Bright', function='CEO')
        self.env['crm.lead']._score_leads((sparse | rich).ids, 'manual')
        self.env.invalidate_all()
        self.assertEqual((sparse.class_ids, rich.class_ids), (lead_class, self.env['crm.lead.class']))

    def test_shown_on_the_lead_form_as_a_progress_bar(self):
        arch = self.env['crm.lead'].get_views([(False, 'form')])['views']['form']['arch']
        self.assertRegex(arch, r'<field name="profile_completeness"[^>]*widget="progressbar"')
        settings = self.env['res.config.settings'].get_views([(False, 'form')])['views']['form']['arch']
        self.assertIn('lead_intelligence_completeness_field_ids', settings)
        self.assertEqual(
            self.env['res.config.settings'].create({}).lead_intelligence_completeness_field_ids.mapped('name'),
            ['email_from', 'phone', 'partner_name', 'function', 'industry_id', 'company_size', 'country_id'])
