from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import SQL

from .common import TestLeadIntelligenceCommon


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestSegments(TestLeadIntelligenceCommon):
    """Segments of similar leads: found on the open leads, described, measured on the closed ones,
    turned into a class, and kept by the passes for new leads."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # only this test's leads, open and closed
        cls.env['crm.lead'].with_context(active_test=False).search([]).unlink()
        Lead = cls.env['crm.lead']
        # two groups: large companies' decision makers with a big deal (fit 40), and small companies'
        # staff downloading a lot (fit 0)
        cls.big = Lead.create([{'name': f'Big {index}', 'company_size': 'large', 'job_level': 'decision_maker',
                                'expected_revenue': 90000} for index in range(12)])
        cls.small = Lead.create([{'name': f'Small {index}', 'company_size': 'small', 'job_level': 'staff'}
                                 for index in range(12)])
        cls.env.flush_all()
        cls.env.cr.execute(SQL("UPDATE crm_lead SET download_count = 20 + id %% 3 WHERE id = ANY(%s)", cls.small.ids))
        Lead._score_leads((cls.big | cls.small).ids, 'manual')
        # closed leads like each group: the big ones won 3 of 4, the small ones 1 of 4
        closed = Lead.create([{'name': f'Closed big {index}', 'company_size': 'large', 'job_level': 'decision_maker',
                               'expected_revenue': 90000} for index in range(4)]
                             + [{'name': f'Closed small {index}', 'company_size': 'small', 'job_level': 'staff'}
                                for index in range(4)])
        Lead._score_leads(closed.ids, 'manual')
        cls.env.cr.execute(SQL("UPDATE crm_lead SET download_count = 21 WHERE id = ANY(%s)", closed[4:].ids))
        (closed[:3] | closed[4:5]).action_set_won()
        (closed[3:4] | closed[5:]).action_set_lost()
        cls.env.invalidate_all()

    def _run(self, **values):
        run = self.env['crm.lead.cluster.run'].create({'segment_count': 2, **values})
        run.action_run()
        return run

    def test_segments_described_measured_and_assigned(self):
        run = self._run()
        self.assertEqual(run.state, 'done')
        self.assertEqual(run.lead_count, 24)
        self.assertEqual(len(run.cluster_ids), 2)
        big_segment = self.big.cluster_id
        small_segment = self.small.cluster_id
        self.assertEqual(len(big_segment), 1, 'each group falls in one segment')
        self.assertEqual(len(small_segment), 1)
        self.assertNotEqual(big_segment, small_segment)
        self.assertEqual((big_segment.lead_count, small_segment.lead_count), (12, 12))
        self.assertEqual((big_segment.won_count, big_segment.lost_count), (3, 1))
        self.assertEqual(small_segment.conversion, 25.0)
        self.assertIn('Large', big_segment.description)
        self.assertEqual(small_segment.description, 'poor profile fit, Small, Staff')
        self.assertEqual(big_segment.name, big_segment.description, 'named by its description until renamed')

    def test_deterministic(self):
        first = self._run(seed=3)
        second = self._run(seed=3)
        self.assertEqual(first.parameters, second.parameters)
        self.assertEqual(first.cluster_ids.mapped('description'), second.cluster_ids.mapped('description'))

    def test_a_new_lead_joins_its_nearest_segment_in_the_pass(self):
        self._run()
        lead = self.env['crm.lead'].create({'name': 'New big', 'company_size': 'large',
                                            'job_level': 'decision_maker', 'expected_revenue': 95000})
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.assertEqual(lead.cluster_id, self.big[0].cluster_id)

    def test_a_segment_becomes_a_class(self):
        self._run()
        segment = self.small[0].cluster_id
        segment.name = 'Downloaders'
        segment.action_make_class()
        self.assertEqual(segment.class_id.name, 'Downloaders')
        with self._mock_commit_progress():
            self.env['crm.lead']._cron_rescore_all_leads()
        self.assertEqual(self.small.class_ids, segment.class_id)
        self.assertFalse(self.big.class_ids)

    def test_bad_settings_and_too_few_leads(self):
        with self.assertRaisesRegex(UserError, 'between 2 and 30'):
            self._run(segment_count=50)
        (self.big | self.small).write({'active': False})
        with self.assertRaisesRegex(UserError, 'cannot be found'):
            self._run()

    def test_views_load(self):
        self.env['crm.lead.cluster.run'].get_views([(False, 'list'), (False, 'form')])
        self.env['crm.lead.cluster'].get_views([(False, 'list'), (False, 'search')])
        self.env['crm.lead'].get_views([(False, 'form'), (False, 'search')])
