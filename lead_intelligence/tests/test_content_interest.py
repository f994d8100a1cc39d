from datetime import timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .test_events import NOW, TestBehaviourCommon
from odoo.addons.lead_intelligence.models.writes import crm_lead_topic_interest as interest_writes


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestContentInterest(TestBehaviourCommon):
    """Topics from page patterns and event types, decayed per topic, a lead's top topics, the rules."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Topic = cls.env['crm.lead.topic']
        cls.warehouse = Topic.create({'name': 'Warehouse automation', 'url_patterns': '/solutions/warehouse*',
                                      'half_life': 10})
        cls.pricing = Topic.create({'name': 'Pricing', 'url_patterns': '*pricing*\n/plans', 'half_life': 10})
        cls.reports = Topic.create({'name': 'Reports', 'event_type_ids': [(6, 0, cls.type_download.ids)],
                                    'half_life': 10})

    def _interest(self, lead):
        return {row.topic_id.name: round(row.weight, 3) for row in lead.topic_interest_ids}

    @freeze_time(NOW)
    def test_pages_and_types_with_decay_counted_once(self):
        lead = self._create_lead()
        self._send(lead, 'visit', NOW - timedelta(days=10), 'w1', value=60,
                   url='https://example.com/solutions/warehouse/robots')
        self._send(lead, 'visit', NOW, 'w2', value=60, url='https://example.com/solutions/warehouse')
        self._send(lead, 'visit', NOW, 'p1', value=60, url='https://example.com/en/pricing?plan=pro')
        self._send(lead, 'visit', NOW, 'x1', value=60, url='https://example.com/blog/solutions/warehouse')
        self._send(lead, 'download', NOW - timedelta(days=20), 'd1')
        self._count()
        # warehouse: one event now, one ten days (a half-life) ago; the blog page is not on the path
        self.assertEqual(self._interest(lead), {'Warehouse automation': 1.5, 'Pricing': 1.0, 'Reports': 0.25})
        self.assertEqual(lead.topic_ids, self.warehouse | self.pricing | self.reports)
        # the same events again: counted once
        self._send(lead, 'visit', NOW, 'w2', value=60, url='https://example.com/solutions/warehouse')
        self._count()
        self.assertEqual(self._interest(lead)['Warehouse automation'], 1.5)
        # a later event folds into the sum, decayed to it
        with freeze_time(NOW + timedelta(days=10)):
            self._send(lead, 'visit', NOW + timedelta(days=10), 'w3', value=60,
                       url='https://example.com/solutions/warehouse/a')
            self._count()
            self.assertEqual(self._interest(lead)['Warehouse automation'], 1.75)

    @freeze_time(NOW)
    def test_top_three_and_a_changed_mapping_rebuilds(self):
        extra = self.env['crm.lead.topic'].create({'name': 'Plans', 'url_patterns': '/plans*', 'half_life': 10})
        lead = self._create_lead()
        # five visits (the daily cap of visits), two downloads
        for index, url in enumerate(['/solutions/warehouse', '/solutions/warehouse', '/plans', '/plans', '/pricing']):
            self._send(lead, 'visit', NOW, f'v{index}', value=60, url='https://example.com' + url)
        self._send(lead, 'download', NOW, 'd1')
        self._send(lead, 'download', NOW, 'd2')
        self._count()
        # pricing 3 (/plans twice, /pricing), then 2 each for warehouse, reports and plans: ties by topic
        self.assertEqual(self._interest(lead), {'Pricing': 3.0, 'Warehouse automation': 2.0, 'Reports': 2.0,
                                                'Plans': 2.0})
        self.assertEqual(lead.topic_ids, self.pricing | self.warehouse | self.reports)
        # the admin narrows pricing to its page: rebuilt from the log, and the top topics follow
        self.pricing.url_patterns = '*pricing*'
        self.assertEqual(self._interest(lead)['Pricing'], 1.0)
        self.assertEqual(lead.topic_ids, self.warehouse | self.reports | extra)

    @freeze_time(NOW)
    def test_the_nightly_refresh_drops_faded_topics_without_ranking_again(self):
        lead = self._create_lead()
        for external_id, url in (('w1', '/solutions/warehouse'), ('w2', '/solutions/warehouse/b'), ('p1', '/pricing')):
            self._send(lead, 'visit', NOW, external_id, value=60, url='https://example.com' + url)
        self._count()
        self.assertEqual(lead.topic_ids, self.warehouse | self.pricing)
        # one half-life for every topic: time keeps the order, only a faded topic can leave
        Lead = self.env['crm.lead']
        with patch.object(interest_writes, 'set_top_topics', side_effect=AssertionError('ranked again')):
            # three half-lives on: warehouse 2 -> 0.25, pricing 1 -> 0.125, both kept
            with freeze_time(NOW + timedelta(days=30)):
                Lead._refresh_top_topics()
            self.assertEqual(lead.topic_ids, self.warehouse | self.pricing)
            # five days more: pricing weighs 0.088, under the minimum of 0.1
            with freeze_time(NOW + timedelta(days=35)):
                Lead._refresh_top_topics()
            self.assertEqual(lead.topic_ids, self.warehouse)

    @freeze_time(NOW)
    def test_the_nightly_refresh_ranks_again_with_several_half_lives(self):
        slow = self.env['crm.lead.topic'].create({'name': 'Case studies', 'url_patterns': '/cases*',
                                                  'half_life': 100})
        lead = self._create_lead()
        for external_id, url in (('w1', '/solutions/warehouse'), ('w2', '/solutions/warehouse/b'), ('p1', '/pricing'),
                                 ('p2', '/plans'), ('c1', '/cases')):
            self._send(lead, 'visit', NOW, external_id, value=60, url='https://example.com' + url)
        self._send(lead, 'download', NOW, 'd1')
        self._send(lead, 'download', NOW, 'd2')
        self._count()
        # warehouse, pricing and reports 2 each, case studies 1: fourth
        self.assertEqual(lead.topic_ids, self.warehouse | self.pricing | self.reports)
        # twenty days on: 0.5 for each ten-day topic, 0.87 for the slow one: it enters, and the last of
        # the ties (by topic) leaves
        with freeze_time(NOW + timedelta(days=20)):
            self.env['crm.lead']._refresh_top_topics()
        self.assertEqual(lead.topic_ids, slow | self.warehouse | self.pricing)

    @freeze_time(NOW)
    def test_a_fit_rule_reads_the_topics_in_the_same_pass(self):
        self.env['crm.lead.fit.rule'].create({
            'name': 'Warehouse readers', 'domain': f"[('topic_ids', 'in', [{self.warehouse.id}])]", 'points': 40})
        lead, other = self._create_lead(), self._create_lead()
        self._send(lead, 'visit', NOW, 'w1', value=60, url='https://example.com/solutions/warehouse')
        self._send(other, 'visit', NOW, 'o1', value=60, url='https://example.com/about')
        self._count()
        self.assertEqual((lead.fit_score, other.fit_score), (40, 0))

    def test_bad_patterns_refused_and_views_load(self):
        with self.assertRaises(ValidationError):
            self.env['crm.lead.topic'].create({'name': 'Everything', 'url_patterns': '*'})
        self.env['crm.lead.topic'].get_views([(False, 'list'), (False, 'form')])
        self.env['crm.lead'].get_views([(False, 'form'), (False, 'search')])
