from odoo.tests import tagged

from .common import TestLeadIntelligenceCommon


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestJobLevelFit(TestLeadIntelligenceCommon):
    """The shipped fit rules score the job level the classification rules give: a title earns the
    bonus of its one level, in English and Chinese, in the pass that classifies it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # the shipped job-level rules alone, so that a lead's fit points are its job-level bonus
        cls.env['crm.lead.fit.rule'].search([]).action_archive()
        cls.job_rules = cls.env['crm.lead.fit.rule']
        for name in ('decision_maker', 'technical_lead', 'procurement', 'manager'):
            cls.job_rules |= cls.env.ref(f'lead_intelligence.fit_rule_{name}')
        cls.job_rules.action_unarchive()

    def _score(self, leads):
        self.env['crm.lead']._score_leads(leads.ids, 'manual')
        self.env.invalidate_all()
        return leads

    def test_each_title_earns_the_bonus_of_its_one_level(self):
        titles = {
            '技术总监': ('technical', 15), 'CTO': ('technical', 15), 'Technical Director': ('technical', 15),
            'Director of Engineering': ('technical', 15), 'Head of IT': ('technical', 15), 'IT经理': ('technical', 15),
            '研发经理': ('technical', 15), 'Operations Director': ('manager', 10), '运营总监': ('manager', 10),
            'Director': ('manager', 10), 'CEO': ('decision_maker', 25), '总经理': ('decision_maker', 25),
            '首席执行官': ('decision_maker', 25), 'Managing Director': ('decision_maker', 25),
            '采购总监': ('procurement', 10), 'Purchasing Director': ('procurement', 10),
            'Marketing Assistant': ('staff', 0),
        }
        leads = self._score(self.env['crm.lead'].create([{'name': title, 'function': title} for title in titles]))
        self.assertEqual({lead.function: (lead.job_level, lead.fit_score) for lead in leads}, titles)

    def test_a_title_naming_two_levels_earns_one_bonus(self):
        lead = self._score(self._create_lead(function='CEO & CTO'))
        self.assertEqual((lead.job_level, lead.fit_score), ('decision_maker', 25),
                         'the first level only: not 25 + 15')

    def test_classified_and_scored_in_the_same_pass(self):
        self.env.cr.execute(
            "INSERT INTO crm_lead (name, type, active, function) "
            "VALUES ('Imported', 'lead', TRUE, '技术总监') RETURNING id")
        lead = self._score(self.env['crm.lead'].browse(self.env.cr.fetchone()[0]))
        self.assertEqual((lead.job_level, lead.fit_score), ('technical', 15))

    def test_a_level_set_by_hand_scores_that_level(self):
        lead = self._score(self._create_lead(function='技术总监'))
        self.assertEqual(lead.fit_score, 15)
        lead.job_level = 'decision_maker'
        self._score(lead)
        self.assertEqual(lead.fit_score, 25, 'the score follows the class the lead shows')

    def _full_pass(self):
        with self._mock_commit_progress():
            self.env['crm.lead']._cron_rescore_all_leads()
        self.env.invalidate_all()

    def test_nightly_pass_scores_the_new_level_of_the_edited_leads(self):
        self.env['ir.config_parameter'].sudo().set_param('lead_intelligence.chunk_size', 2)
        leads = self.env['crm.lead'].create([{'name': f'Lead {i}', 'function': 'CEO'} for i in range(7)])
        self._full_pass()
        self.assertEqual(set(leads.mapped('fit_score')), {25})
        edited = leads[1] | leads[4] | leads[5] | leads[6]
        edited.function = 'Technical Director'
        # a change no one flags: the nightly pass keeps that lead's class, and its score with it
        self.env.cr.execute('ALTER TABLE crm_lead DISABLE TRIGGER lead_intelligence_flag_dirty')
        self.env.cr.execute("UPDATE crm_lead SET function = 'Operations Director' WHERE id = %s", [leads[0].id])
        self.env.cr.execute('ALTER TABLE crm_lead ENABLE TRIGGER lead_intelligence_flag_dirty')
        self._full_pass()
        self.assertEqual(leads.mapped('fit_score'), [25, 15, 25, 25, 15, 15, 15])
        self.assertEqual(leads.mapped('job_level'), ['decision_maker', 'technical', 'decision_maker',
                                                     'decision_maker', 'technical', 'technical', 'technical'])
        self.assertFalse(any(leads.mapped('score_dirty')))
