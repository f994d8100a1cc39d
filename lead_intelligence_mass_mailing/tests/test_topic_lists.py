from freezegun import freeze_time

from odoo.exceptions import ValidationError
from odoo.tests import tagged

from odoo.addons.lead_intelligence.tests.test_events import NOW, TestBehaviourCommon


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestTopicNurtureLists(TestBehaviourCommon):
    """Mailing-list memberships that follow the leads' top content topics."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.warehouse = cls.env['crm.lead.topic'].create({
            'name': 'Warehouse automation', 'url_patterns': '/solutions/warehouse*', 'half_life': 10})
        cls.warehouse_list = cls.env['mailing.list'].create({'name': 'Warehouse readers'})
        cls.env['crm.lead.nurture.list'].create({'topic_id': cls.warehouse.id,
                                                 'mailing_list_id': cls.warehouse_list.id})

    def _members(self):
        self.env.invalidate_all()
        subscriptions = self.env['mailing.subscription'].search([('list_id', '=', self.warehouse_list.id)])
        return {sub.contact_id.email_normalized: sub.lead_intelligence_nurture for sub in subscriptions}

    @freeze_time(NOW)
    def test_a_reader_of_the_topic_joins_its_list_and_leaves_when_it_is_no_longer_hers(self):
        reader = self._create_lead(email_from='rita@topics.example')
        other = self._create_lead(email_from='otto@topics.example')
        self._send(reader, 'visit', NOW, 'w1', value=60, url='https://example.com/solutions/warehouse/robots')
        self._send(other, 'visit', NOW, 'b1', value=60, url='https://example.com/blog')
        self._count()
        self.assertEqual(reader.topic_ids, self.warehouse)
        self.assertEqual(self._members(), {'rita@topics.example': True})
        # the topic now maps other pages: rebuilt from the log, the reader's interest is gone, and so is she
        self.warehouse.url_patterns = '/products/warehouse*'
        self.assertFalse(reader.topic_ids)
        self.assertEqual(self._members(), {})
        # and the other lead, who reads those pages, joins
        self._send(other, 'visit', NOW, 'p1', value=60, url='https://example.com/products/warehouse')
        self._count()
        self.assertEqual(self._members(), {'otto@topics.example': True})

    def test_a_list_is_fed_by_a_value_or_a_topic(self):
        NurtureList = self.env['crm.lead.nurture.list']
        other_list = self.env['mailing.list'].create({'name': 'Other readers'})
        with self.assertRaises(ValidationError):
            NurtureList.create({'mailing_list_id': other_list.id})
        with self.assertRaises(ValidationError):
            NurtureList.create({'topic_id': self.warehouse.id, 'dimension_value': 'lifecycle_stage:mql',
                                'mailing_list_id': other_list.id})
        by_topic = NurtureList.search([('topic_id', '=', self.warehouse.id)])
        self.assertEqual(by_topic.display_name, 'Warehouse automation')
