from odoo.tests import tagged

from .common import TestLeadIntelligenceCommon


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestClassificationHistoryLabels(TestLeadIntelligenceCommon):
    """The classification history keeps the values' codes and shows their labels in the reader's language."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env['res.lang']._activate_lang('zh_CN')
        cls.env['ir.module.module']._load_module_terms(['lead_intelligence'], ['zh_CN'])
        cls.industry = cls.env['res.partner.industry'].create({'name': 'Bicycles'})
        cls.industry.with_context(lang='zh_CN').name = '自行车'
        cls.retail = cls.env['crm.lead.class'].create({'name': 'Retail'})
        cls.online = cls.env['crm.lead.class'].create({'name': 'Online', 'parent_id': cls.retail.id})

    def _history(self, lead, dimension, lang='en_US'):
        rows = lead.with_context(lang=lang).classification_history_ids
        return rows.filtered(lambda row: row.dimension == dimension)

    def test_rules_changes_read_in_chinese(self):
        lead = self._create_lead(function='Marketing Assistant', type='lead')
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        lead.write({'function': '总经理', 'expected_revenue': 90000})
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.env.invalidate_all()
        self.assertEqual((lead.job_level, lead.lifecycle_stage), ('decision_maker', 'mql'))
        job = self._history(lead, 'job_level')[0]
        self.assertEqual((job.old_value, job.new_value), ('staff', 'decision_maker'), 'codes, whatever the language')
        self.assertEqual((job.old_label, job.new_label), ('Staff', 'Decision Maker'))
        chinese = self._history(lead, 'job_level', 'zh_CN')[0]
        self.assertEqual((chinese.old_label, chinese.new_label), ('员工', '决策者'))
        stage = self._history(lead, 'lifecycle_stage', 'zh_CN')[0]
        labels = dict(self.env['crm.lead']._fields['lifecycle_stage']._description_selection(stage.env))
        self.assertEqual((stage.old_value, stage.new_value), ('cold', 'mql'))
        self.assertEqual((stage.old_label, stage.new_label), (labels['cold'], labels['mql']))
        self.assertNotIn(stage.new_label, ('mql', False))

    def test_users_changes_of_industry_and_classes_read_by_name(self):
        lead = self._create_lead(function='CEO')
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        lead.write({'industry_id': self.industry.id, 'class_ids': [(6, 0, (self.online | self.retail).ids)]})
        self.env.invalidate_all()
        industry = self._history(lead, 'industry', 'zh_CN')[0]
        self.assertEqual((industry.new_value, industry.new_label), (str(self.industry.id), '自行车'))
        classes = self._history(lead, 'class')[0]
        self.assertEqual(classes.new_value, ','.join(str(i) for i in sorted((self.online | self.retail).ids)))
        self.assertEqual(classes.new_label, 'Retail, Retail / Online')
        self.assertEqual(classes.cause, 'user')

    def test_search_by_label_in_the_users_language(self):
        lead = self._create_lead(function='CEO')
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        lead.write({'industry_id': self.industry.id, 'class_ids': [(6, 0, self.online.ids)]})
        History = self.env['crm.lead.classification.history'].with_context(lang='zh_CN')
        found = History.search([('lead_id', '=', lead.id), ('new_label', 'ilike', '决策')])
        self.assertEqual(found.mapped('new_value'), ['decision_maker'])
        found = History.search([('lead_id', '=', lead.id), ('new_label', 'ilike', '自行')])
        self.assertEqual(found.mapped('dimension'), ['industry'])
        found = History.search([('lead_id', '=', lead.id), ('new_label', 'ilike', 'Online')])
        self.assertEqual(found.mapped('dimension'), ['class'])
