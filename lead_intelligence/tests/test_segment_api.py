import json
from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from .test_event_api import EventApiCase

URL = '/lead_intelligence/segment/v1/'


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestSegmentApi(EventApiCase):
    """The Segment-compatible endpoint, called as Segment, RudderStack or Jitsu would."""

    def _segment(self, endpoint, body, key=None, expected_status=200):
        """POST ``body`` (JSON-encoded unless a string) to the Segment endpoint ``endpoint``;
        the answer decoded (None for Odoo's own 401 page)."""
        headers = {'Content-Type': 'application/json'}
        if key is not False:
            headers['Authorization'] = f'Bearer {key or self.key}'
        data = body if isinstance(body, str) else json.dumps(body)
        response = self.url_open(URL + endpoint, data=data, headers=headers)
        self.assertEqual(response.status_code, expected_status, response.text)
        return response.json() if expected_status != 401 else None

    def _summary(self, answer):
        return [(result['status'], result['reason']) for result in answer['results']]

    def _segment_events(self, *message_ids):
        self.env.invalidate_all()
        return self.env['crm.lead.event'].search(
            [('source', '=', 'segment'), ('external_id', 'in', list(message_ids))], order='id')

    def _waiting(self, anonymous_id):
        self.env.invalidate_all()
        return self.env['crm.lead.segment.event'].search([('anonymous_id', '=', anonymous_id)])

    def _count(self):
        with self._mock_commit_progress():
            self.env['crm.lead.event']._cron_count_events()
        self.env.invalidate_all()

    def _recent(self, hours):
        return self._iso(fields.Datetime.now() - timedelta(hours=hours))

    # ------------------------------------------------------------
    # acceptance
    # ------------------------------------------------------------

    def test_track_page_and_identify_calls_are_accepted(self):
        answer = self._segment('track', {
            'event': 'Demo Requested', 'messageId': 'seg-t1', 'userId': 'alice.buyer@example.com',
            'timestamp': '2025-03-01T10:00:00+08:00', 'properties': {'plan': 'pro'},
            'context': {'userAgent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64)'}})
        self.assertEqual(self._summary(answer), [('accepted', None)])
        self.assertEqual((answer['accepted'], answer['duplicate'], answer['rejected'], answer['staged']),
                         (1, 0, 0, 0))
        answer = self._segment('page', {
            'type': 'page', 'name': 'Pricing', 'messageId': 'seg-p1', 'userId': 'WEB-42',
            'originalTimestamp': '2025-03-02T09:30:00Z', 'context': {'page': {'url': 'https://x.example/pricing'}}})
        self.assertEqual(self._summary(answer), [('accepted', None)])
        answer = self._segment('identify', {'messageId': 'seg-i1', 'userId': 'WEB-42',
                                            'traits': {'email': 'Alice Buyer <ALICE.buyer@example.com>'}})
        self.assertEqual(answer['results'], [{'index': 0, 'status': 'accepted', 'reason': None, 'linked': 0}])

        track, page = self._segment_events('seg-t1', 'seg-p1')
        self.assertEqual((track.lead_id, track.type_id.code, track.occurred_at, track.state),
                         (self.lead_by_email, 'demo_request', fields.Datetime.to_datetime('2025-03-01 02:00:00'),
                          'pending'))
        self.assertEqual((page.lead_id, page.type_id.code, page.url),
                         (self.lead_by_ref, 'pricing_page', 'https://x.example/pricing'))
        self.assertFalse(self._segment_events('seg-i1'), "an identify call is no behaviour")

    def test_batch_reports_each_call(self):
        batch = [
            {'type': 'track', 'event': 'Whitepaper Downloaded', 'messageId': 'seg-b1',
             'traits': {'email': 'alice.buyer@example.com'}, 'timestamp': self._recent(2)},
            {'type': 'page', 'messageId': 'seg-b2', 'anonymousId': 'anon-b', 'properties': {'path': '/blog/crm'},
             'timestamp': self._recent(1)},
            {'type': 'track', 'event': 'Signed Up', 'messageId': 'seg-b3', 'userId': 'WEB-42'},
            {'type': 'page', 'messageId': 'seg-b4', 'userId': 'nobody-99', 'properties': {'path': '/'}},
        ]
        answer = self._segment('batch', {'batch': batch, 'sentAt': self._recent(0)})
        self.assertEqual(self._summary(answer), [
            ('accepted', None), ('staged', None),
            ('rejected', "no event type is mapped to the track event 'Signed Up': add a Segment mapping"),
            ('rejected', "no lead with 'userId' 'nobody-99'")])
        self.assertEqual((answer['accepted'], answer['duplicate'], answer['rejected'], answer['staged']),
                         (1, 0, 2, 1))
        self.assertEqual(self._segment_events('seg-b1').type_id.code, 'download')
        self.assertEqual(self._waiting('anon-b').type_id.code, 'visit')
        self.assertFalse(self._segment_events('seg-b2', 'seg-b3', 'seg-b4'))

    def test_message_id_makes_a_call_count_once(self):
        batch = {'batch': [
            {'type': 'track', 'event': 'Quote Requested', 'messageId': 'seg-d1', 'userId': 'WEB-42'},
            {'type': 'track', 'event': 'Quote Requested', 'messageId': 'seg-d1', 'userId': 'WEB-42'},
            {'type': 'page', 'messageId': 'seg-d2', 'anonymousId': 'anon-d', 'properties': {'path': '/'}},
        ]}
        self.assertEqual(self._summary(self._segment('batch', batch)), [
            ('accepted', None), ('duplicate', 'already logged'), ('staged', None)])
        self.assertEqual(self._summary(self._segment('batch', batch)), [
            ('duplicate', 'already logged'), ('duplicate', 'already logged'),
            ('duplicate', 'already waiting for its visitor')])
        self.assertEqual(len(self._segment_events('seg-d1')), 1)
        self.assertEqual(len(self._waiting('anon-d')), 1)
        # a Segment messageId is not an event API external id: the sources do not clash
        self.assertEqual(self._post([{'type': 'quote_request', 'occurred_at': '2025-03-01T10:00:00Z',
                                      'lead_ref': 'WEB-42', 'external_id': 'seg-d1'}])['accepted'], 1)

    def test_identify_links_the_earlier_anonymous_events_once(self):
        lead = self.lead_by_email
        anonymous = [
            {'type': 'track', 'event': 'Demo Requested', 'messageId': 'seg-a1', 'anonymousId': 'anon-a',
             'timestamp': self._recent(3)},
            {'type': 'page', 'messageId': 'seg-a2', 'anonymousId': 'anon-a', 'timestamp': self._recent(2),
             'context': {'page': {'path': '/pricing', 'url': 'https://x.example/pricing'}}},
            {'type': 'page', 'messageId': 'seg-a3', 'anonymousId': 'anon-other', 'properties': {'path': '/'}},
        ]
        self.assertEqual([result['status'] for result in self._segment('batch', {'batch': anonymous})['results']],
                         ['staged'] * 3)
        self.assertFalse(self._segment_events('seg-a1', 'seg-a2'))
        identify = {'messageId': 'seg-a4', 'anonymousId': 'anon-a', 'traits': {'email': 'alice.buyer@example.com'}}
        answer = self._segment('identify', identify)
        self.assertEqual(answer['results'], [{'index': 0, 'status': 'accepted', 'reason': None, 'linked': 2}])
        events = self._segment_events('seg-a1', 'seg-a2')
        self.assertEqual([(event.lead_id, event.type_id.code, event.state) for event in events],
                         [(lead, 'demo_request', 'pending'), (lead, 'pricing_page', 'pending')])
        self.assertFalse(self._waiting('anon-a'))
        self.assertEqual(len(self._waiting('anon-other')), 1, "another visitor's events still wait")
        self._count()
        self.assertEqual(lead.buying_signal_count, 2)

        # identified again, and the same calls sent again: nothing more is logged or counted
        self.assertEqual(self._segment('identify', identify)['results'][0]['linked'], 0)
        self.assertEqual([result['status'] for result in self._segment('batch', {'batch': anonymous[:2]})['results']],
                         ['duplicate'] * 2)
        self._count()
        self.assertEqual(lead.buying_signal_count, 2)
        # the visitor's later anonymous calls are the lead's at once
        answer = self._segment('track', {'event': 'Quote Requested', 'messageId': 'seg-a5', 'anonymousId': 'anon-a',
                                         'timestamp': self._recent(1)})
        self.assertEqual(self._summary(answer), [('accepted', None)])
        self.assertEqual(self._segment_events('seg-a5').lead_id, lead)

    def test_identify_in_the_same_batch_and_unknown_emails(self):
        batch = {'batch': [
            {'type': 'page', 'messageId': 'seg-s1', 'anonymousId': 'anon-s', 'properties': {'path': '/'}},
            {'type': 'identify', 'messageId': 'seg-s2', 'anonymousId': 'anon-s',
             'traits': {'email': 'new@example.com'}},
        ]}
        self.assertEqual(self._summary(self._segment('batch', batch)), [
            ('staged', None), ('rejected', "no lead with 'traits.email' 'new@example.com'")])
        self.assertEqual(len(self._waiting('anon-s')), 1, "kept until a lead is known")
        self._set_param('api_create_leads', 'True')
        answer = self._segment('batch', {'batch': batch['batch'][1:]})
        self.assertEqual(answer['results'], [{'index': 0, 'status': 'accepted', 'reason': None, 'linked': 1}])
        lead = self.env['crm.lead'].search([('email_normalized', '=', 'new@example.com')])
        self.assertEqual(self._segment_events('seg-s1').lead_id, lead)
        # a visitor identified in the batch of its calls: they are the lead's at once
        answer = self._segment('batch', {'batch': [
            {'type': 'page', 'messageId': 'seg-s3', 'anonymousId': 'anon-t', 'properties': {'path': '/'}},
            {'type': 'identify', 'messageId': 'seg-s4', 'anonymousId': 'anon-t', 'userId': 'WEB-42'},
        ]})
        self.assertEqual(self._summary(answer), [('accepted', None), ('accepted', None)])
        self.assertEqual(self._segment_events('seg-s3').lead_id, self.lead_by_ref)

    def test_bots_are_logged_filtered(self):
        answer = self._segment('batch', {'batch': [
            {'type': 'page', 'messageId': 'seg-bot1', 'userId': 'WEB-42', 'properties': {'path': '/'},
             'context': {'userAgent': 'Mozilla/5.0 (compatible; Googlebot/2.1)'}},
            {'type': 'page', 'messageId': 'seg-bot2', 'anonymousId': 'anon-bot', 'properties': {'path': '/'},
             'context': {'userAgent': 'python-requests/2.31'}},
        ]})
        self.assertEqual([result['status'] for result in answer['results']], ['accepted', 'staged'])
        bot = self._segment_events('seg-bot1')
        self.assertEqual((bot.state, bot.filter_reason), ('filtered', 'bot'))
        self.assertEqual(self._waiting('anon-bot').filter_reason, 'bot')
        self._segment('identify', {'messageId': 'seg-bot3', 'anonymousId': 'anon-bot', 'userId': 'WEB-42'})
        linked = self._segment_events('seg-bot2')
        self.assertEqual((linked.lead_id, linked.state, linked.filter_reason), (self.lead_by_ref, 'filtered', 'bot'))

    # ------------------------------------------------------------
    # rejections
    # ------------------------------------------------------------

    def test_every_rejected_call_has_its_reason(self):
        batch = [
            'not a call',
            {'type': 'screen', 'messageId': 'r1', 'userId': 'WEB-42'},
            {'type': 'track', 'event': 'Demo Requested', 'userId': 'WEB-42'},
            {'type': 'track', 'event': 'Demo Requested', 'messageId': {'id': 1}, 'userId': 'WEB-42'},
            {'type': 'track', 'event': 'Demo Requested', 'messageId': 'r4'},
            {'type': 'track', 'event': 'Demo Requested', 'messageId': 'r5', 'userId': 'WEB-42', 'properties': 'x'},
            {'type': 'track', 'event': 'Demo Requested', 'messageId': 'r6', 'userId': 'WEB-42', 'timestamp': 'now'},
            {'type': 'track', 'event': 'Demo Requested', 'messageId': 'r7', 'userId': 'WEB-42',
             'timestamp': '2999-01-01T00:00:00Z'},
            {'type': 'track', 'messageId': 'r8', 'userId': 'WEB-42'},
            {'type': 'track', 'event': 'Account Deleted', 'messageId': 'r9', 'userId': 'WEB-42'},
            {'type': 'track', 'event': 'Demo Requested', 'messageId': 'r10', 'userId': 'WEB-42',
             'properties': {'value': 'high'}},
            {'type': 'track', 'event': 'Demo Requested', 'messageId': 'r11', 'traits': {'email': 'not-an-email'}},
            {'type': 'page', 'messageId': 'r12', 'userId': 'WEB-42'},
            {'type': 'identify', 'messageId': 'r13', 'anonymousId': 'anon-r'},
            {'type': 'track', 'event': 'Demo Requested', 'messageId': 'r14', 'userId': 'WEB-42',
             'context': {'userAgent': 42}},
        ]
        answer = self._segment('batch', {'batch': batch})
        expected = [
            'a call must be a JSON object', "'type' must be one of track, page and identify, not 'screen'",
            "'messageId' is required", "'messageId' must be a string",
            "a call needs a 'userId', an 'anonymousId' or a 'traits.email'", "'properties' must be an object",
            "'timestamp' must be an ISO 8601 date and time", "'timestamp' is in the future",
            "'event' is required on a track call", "no event type is mapped to the track event 'Account Deleted'",
            "'properties.value' must be a number", "'traits.email' is not an email address",
            "a page call needs 'properties.path', 'context.page.path' or a URL",
            "an identify call needs a 'traits.email' or a 'userId'", "'context.userAgent' must be a string",
        ]
        self.assertEqual(answer['rejected'], len(batch))
        for result, reason in zip(answer['results'], expected, strict=True):
            with self.subTest(index=result['index']):
                self.assertEqual(result['status'], 'rejected')
                self.assertIn(reason, result['reason'])
        self.assertFalse(self.env['crm.lead.event'].search_count([('source', '=', 'segment')]))
        self.assertFalse(self.env['crm.lead.segment.event'].search_count([]))

    def test_mappings_are_configuration(self):
        call = {'event': 'Trial Started', 'messageId': 'seg-m1', 'userId': 'WEB-42'}
        self.assertEqual(self._segment('track', call)['rejected'], 1)
        self.env['crm.lead.segment.mapping'].create({
            'call_type': 'track', 'pattern': 'trial *',
            'type_id': self.env.ref('lead_intelligence.event_type_form').id})
        self.assertEqual(self._segment('track', call)['accepted'], 1)
        self.assertEqual(self._segment_events('seg-m1').type_id.code, 'form')

    def test_http_errors(self):
        call = {'event': 'Demo Requested', 'messageId': 'seg-h1', 'userId': 'WEB-42'}
        self._segment('track', call, key=False, expected_status=401)
        self._segment('track', call, key='0123456789abcdef0123456789abcdef01234567', expected_status=401)
        answer = self._segment('track', call, key=self.plain_key, expected_status=403)
        self.assertIn('Lead Intelligence: Event API', answer['error']['message'])
        self.assertEqual(self._segment('alias', call, expected_status=404)['error']['code'], 404)
        self.assertIn('not valid JSON', self._segment('track', '{"event": ', expected_status=400)['error']['message'])
        answer = self._segment('batch', {'batch': call}, expected_status=400)
        self.assertIn('{"batch": [...]}', answer['error']['message'])
        self.assertIn("'type' must be 'track' on this endpoint",
                      self._segment('track', dict(call, type='page'))['results'][0]['reason'])
        self._set_param('api_max_events', '2')
        answer = self._segment('batch', {'batch': [call] * 3}, expected_status=413)
        self.assertIn('at most 2', answer['error']['message'])
        self.assertFalse(self._segment_events('seg-h1'), "nothing of a refused request is logged")

    def test_visitors_never_identified_are_forgotten(self):
        self._segment('batch', {'batch': [
            {'type': 'page', 'messageId': f'seg-g{index}', 'anonymousId': f'anon-g{index}',
             'properties': {'path': '/'}} for index in range(2)]})
        self.env.cr.execute(
            "UPDATE crm_lead_segment_event SET received_at = received_at - interval '91 days' WHERE anonymous_id = %s",
            ['anon-g0'])
        self.env['crm.lead.segment.event']._gc_unidentified()
        self.assertFalse(self._waiting('anon-g0'))
        self.assertEqual(len(self._waiting('anon-g1')), 1)
