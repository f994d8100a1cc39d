from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from odoo.addons.lead_intelligence.tests.common import TestLeadIntelligenceCommon
from odoo.addons.lead_intelligence_website.models.website_track import WATERMARK_PARAM


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestPageViewEvents(TestLeadIntelligenceCommon):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.website = cls.env['website'].search([], limit=1)
        Page = cls.env['website.page']
        cls.page_solutions = Page.create({
            'name': 'Solutions', 'type': 'qweb', 'arch': '<div>Solutions</div>', 'url': '/solutions',
            'website_id': cls.website.id, 'is_key_page': True,
        })
        cls.page_about = Page.create({
            'name': 'About', 'type': 'qweb', 'arch': '<div>About</div>', 'url': '/about-us',
            'website_id': cls.website.id, 'track': True,
        })
        cls.lead = cls.env['crm.lead'].create({'name': 'Visiting lead', 'email_from': 'visitor@example.com'})
        cls.visitor, cls.other_visitor = cls.env['website.visitor'].create([
            {'access_token': 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6', 'website_id': cls.website.id},
            {'access_token': 'f6e5d4c3b2a1f6e5d4c3b2a1f6e5d4c3', 'website_id': cls.website.id},
        ])
        cls.lead.visitor_ids = [(4, cls.visitor.id)]

    def setUp(self):
        super().setUp()
        self.now = fields.Datetime.now()
        self.env['ir.config_parameter'].sudo().search([('key', '=', WATERMARK_PARAM)]).unlink()

    def _track(self, visitor, url, page=None, ago=timedelta(minutes=10)):
        return self.env['website.track'].create({
            'visitor_id': visitor.id, 'url': url, 'page_id': page.id if page else False,
            'visit_datetime': self.now - ago,
        })

    def _log(self):
        return self.env['website.track']._cron_log_lead_page_views()

    def _events(self, lead=None):
        return self.env['crm.lead.event'].search(
            [('source', '=', 'website'), ('lead_id', '=', (lead or self.lead).id)], order='id')

    def _codes(self, lead=None):
        return {event.external_id: event.type_id.code for event in self._events(lead)}

    def test_page_views_are_classified(self):
        key = self._track(self.visitor, 'http://localhost:8069/solutions', self.page_solutions)
        about = self._track(self.visitor, 'http://localhost:8069/about-us', self.page_about)
        pricing = self._track(self.visitor, 'https://www.example.com/en/Pricing?plan=pro')
        key_and_pricing = self._track(self.visitor, 'https://www.example.com/pricing', self.page_solutions)
        query_only = self._track(self.visitor, 'https://www.example.com/shop?from=/pricing')
        self.assertEqual(self._log(), 5)
        lead = self.lead.id
        self.assertEqual(self._codes(), {
            f'website.track-{key.id}-lead-{lead}': 'key_page',
            f'website.track-{about.id}-lead-{lead}': 'visit',
            f'website.track-{pricing.id}-lead-{lead}': 'pricing_page',
            f'website.track-{key_and_pricing.id}-lead-{lead}': 'pricing_page',
            f'website.track-{query_only.id}-lead-{lead}': 'visit',
        })
        event = self._events().filtered(lambda event: event.external_id.startswith(f'website.track-{key.id}-'))
        self.assertRecordValues(event, [{
            'occurred_at': key.visit_datetime, 'url': key.url, 'state': 'pending', 'lead_id': lead,
        }])

    def test_rerunning_adds_nothing_and_events_are_counted(self):
        self._track(self.visitor, 'http://localhost:8069/solutions', self.page_solutions)
        self._track(self.visitor, 'http://localhost:8069/about-us', self.page_about)
        self._track(self.visitor, 'http://localhost:8069/pricing')
        self.assertEqual(self._log(), 3)
        self.assertEqual(self._log(), 0, 'the same page views again: nothing new')
        self.env['ir.config_parameter'].sudo().search([('key', '=', WATERMARK_PARAM)]).unlink()
        self.assertEqual(self._log(), 0, 'even from scratch, the page views logged are not logged again')
        self.assertEqual(len(self._events()), 3)
        with self._mock_commit_progress():
            self.env['crm.lead.event']._cron_count_events()
        self.assertEqual(set(self._events().mapped('state')), {'counted'})
        self.assertRecordValues(self.lead, [{'visit_count': 1, 'key_page_count': 1, 'buying_signal_count': 1}])
        # a new page view after counting is logged and counted on its own
        self._track(self.visitor, 'http://localhost:8069/solutions', self.page_solutions, ago=timedelta(0))
        self.assertEqual(self._log(), 1)
        with self._mock_commit_progress():
            self.env['crm.lead.event']._cron_count_events()
        self.assertRecordValues(self.lead, [{'visit_count': 1, 'key_page_count': 2, 'buying_signal_count': 1}])

    def test_visitors_without_lead_are_ignored(self):
        self._track(self.other_visitor, 'http://localhost:8069/solutions', self.page_solutions)
        self._track(self.other_visitor, 'http://localhost:8069/pricing')
        self.assertEqual(self._log(), 0)
        self.assertFalse(self.env['crm.lead.event'].search([('source', '=', 'website')]))

    def test_one_event_per_lead_of_the_visitor(self):
        second = self.env['crm.lead'].create({'name': 'Same person, second lead',
                                              'visitor_ids': [(4, self.visitor.id)]})
        track = self._track(self.visitor, 'http://localhost:8069/about-us', self.page_about)
        self.assertEqual(self._log(), 2)
        self.assertEqual(list(self._codes()), [f'website.track-{track.id}-lead-{self.lead.id}'])
        self.assertEqual(list(self._codes(second)), [f'website.track-{track.id}-lead-{second.id}'])

    def test_visitor_linked_later_is_backfilled(self):
        recent = self._track(self.other_visitor, 'http://localhost:8069/pricing', ago=timedelta(days=10))
        self._track(self.other_visitor, 'http://localhost:8069/about-us', self.page_about, ago=timedelta(days=120))
        self.assertEqual(self._log(), 0, 'no lead yet')
        lead = self.env['crm.lead'].create({'name': 'Form filled', 'visitor_ids': [(4, self.other_visitor.id)]})
        self.assertEqual(self._log(), 1, 'the views of the last 90 days are backfilled, older ones are not')
        self.assertEqual(self._codes(lead), {f'website.track-{recent.id}-lead-{lead.id}': 'pricing_page'})
        self.assertEqual(self._log(), 0)
        # unlinked then linked again: backfilled again, but the views logged stay logged once
        lead.visitor_ids = [(3, self.other_visitor.id)]
        self.assertEqual(self._log(), 0)
        unlinked_view = self._track(self.other_visitor, 'http://localhost:8069/about-us', self.page_about,
                                    ago=timedelta(hours=5))
        self.env['ir.config_parameter'].sudo().set_param(WATERMARK_PARAM, fields.Datetime.to_string(self.now))
        lead.visitor_ids = [(4, self.other_visitor.id)]
        self.assertEqual(self._log(), 1)
        self.assertIn(f'website.track-{unlinked_view.id}-lead-{lead.id}', self._codes(lead))

    def test_only_views_since_the_last_run_are_scanned(self):
        self._log()  # links known, watermark set
        old = self._track(self.visitor, 'http://localhost:8069/about-us', self.page_about, ago=timedelta(days=2))
        self.assertEqual(self._log(), 0, 'a view older than the last run (and the overlap) of a known link')
        self.assertNotIn(f'website.track-{old.id}-lead-{self.lead.id}', self._codes())
        late = self._track(self.visitor, 'http://localhost:8069/about-us', self.page_about, ago=timedelta(minutes=30))
        self.assertEqual(self._log(), 1, 'a view written late, within the overlap, is caught')
        self.assertIn(f'website.track-{late.id}-lead-{self.lead.id}', self._codes())

    def test_key_page_is_tracked_and_editable_in_page_properties(self):
        self.assertTrue(self.page_solutions.track, 'a key page is tracked')
        page = self.env['website.page'].create({
            'name': 'Case study', 'type': 'qweb', 'arch': '<div>Case</div>', 'url': '/case-study',
            'website_id': self.website.id,
        })
        self.assertFalse(page.track)
        properties = self.env['website.page.properties'].create({
            'target_model_id': page.id, 'website_id': self.website.id, 'url': page.url,
        })
        properties.is_key_page = True
        self.assertTrue(page.is_key_page)
        self.assertTrue(page.track)
        page.is_key_page = False
        self.assertTrue(page.track, 'unmarking a key page leaves its tracking alone')
