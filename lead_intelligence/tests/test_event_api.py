import json
from contextlib import contextmanager
from datetime import datetime, timedelta
from unittest.mock import patch

from odoo import Command, fields
from odoo.tests import HttpCase, tagged

from odoo.addons.lead_intelligence.controllers import main as controller

URL = '/lead_intelligence/v1/events'


class EventApiCase(HttpCase):
    """Calls the HTTP event API as an integrator would, with real API keys."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        params = cls.env['ir.config_parameter'].sudo()
        for key, value in (('api_create_leads', 'False'), ('api_max_events', '1000'), ('min_dwell', '5'),
                           ('bot_user_agents', '')):
            params.set_param(f'lead_intelligence.{key}', value)
        cls.company = cls.env.company
        group_user = cls.env.ref('base.group_user')
        group_api = cls.env.ref('lead_intelligence.group_lead_intelligence_api')
        cls.api_user = cls.env['res.users'].create({
            'name': 'Website integration', 'login': 'li_api_integration', 'share': False,
            'company_id': cls.company.id, 'company_ids': [Command.set(cls.company.ids)],
            'group_ids': [Command.set([group_user.id, group_api.id])],
        })
        cls.plain_user = cls.env['res.users'].create({
            'name': 'Employee without the API group', 'login': 'li_api_plain', 'share': False,
            'company_id': cls.company.id, 'company_ids': [Command.set(cls.company.ids)],
            'group_ids': [Command.set([group_user.id])],
        })
        expiration = fields.Datetime.now() + timedelta(hours=12)
        Keys = cls.env['res.users.apikeys']
        cls.key = Keys.with_user(cls.api_user)._generate(None, 'test key', expiration)
        cls.plain_key = Keys.with_user(cls.plain_user)._generate(None, 'test key', expiration)
        Lead = cls.env['crm.lead']
        cls.lead_by_id = Lead.create({'name': 'Lead by id', 'type': 'lead', 'company_id': cls.company.id})
        cls.lead_by_email = Lead.create({
            'name': 'Lead by email', 'type': 'lead', 'company_id': cls.company.id,
            'email_from': 'Alice Buyer <alice.buyer@example.com>'})
        cls.lead_by_ref = Lead.create({
            'name': 'Lead by reference', 'type': 'lead', 'company_id': cls.company.id, 'lead_ref': 'WEB-42'})
        cls.other_company = cls.env['res.company'].create({'name': 'Other company of the API test'})
        cls.lead_other_company = Lead.create({
            'name': 'Lead of another company', 'type': 'lead', 'company_id': cls.other_company.id,
            'email_from': 'hidden@example.com', 'lead_ref': 'HIDDEN-1'})

    # ------------------------------------------------------------
    # helpers
    # ------------------------------------------------------------

    def _set_param(self, key, value):
        self.env['ir.config_parameter'].sudo().set_param(f'lead_intelligence.{key}', value)

    def _request(self, data, key=None, headers=None):
        """POST ``data`` (a string) as is; ``key`` False: no Authorization header."""
        all_headers = {'Content-Type': 'application/json'}
        if key is not False:
            all_headers['Authorization'] = f'Bearer {key or self.key}'
        all_headers.update(headers or {})
        return self.url_open(URL, data=data, headers=all_headers)

    def _post(self, events, key=None, expected_status=200):
        response = self._request(json.dumps({'events': events}), key=key)
        self.assertEqual(response.status_code, expected_status, response.text)
        return response.json()

    def _events(self, *external_ids):
        self.env.invalidate_all()
        return self.env['crm.lead.event'].search(
            [('source', '=', 'api'), ('external_id', 'in', list(external_ids))], order='id')

    def _api_event_count(self):
        self.env.invalidate_all()
        return self.env['crm.lead.event'].search_count([('source', '=', 'api')])

    def _assert_results(self, answer, expected):
        """``expected``: one ``(status, reason substring or None)`` per event sent."""
        self.assertEqual(len(answer['results']), len(expected), answer)
        for index, (result, (status, reason)) in enumerate(zip(answer['results'], expected, strict=True)):
            with self.subTest(index=index):
                self.assertEqual(result['index'], index, answer)
                self.assertEqual(result['status'], status, result)
                if reason is None:
                    self.assertIsNone(result['reason'], result)
                else:
                    self.assertIn(reason, result['reason'], result)
        for status in ('accepted', 'duplicate', 'rejected'):
            self.assertEqual(answer[status], sum(1 for item in expected if item[0] == status), answer)

    @contextmanager
    def _mock_commit_progress(self):
        """Run crons' chunk commits as no-ops (tests cannot commit)."""
        def commit_progress(cron, processed=0, remaining=None, deactivate=False):
            return float('inf')

        with patch.object(type(self.env['ir.cron']), '_commit_progress', commit_progress):
            yield

    @staticmethod
    def _iso(moment):
        return moment.replace(microsecond=0).isoformat() + 'Z'

    def _batch(self):
        return [
            {'type': 'download', 'occurred_at': '2025-03-01T10:00:00+08:00', 'lead_id': self.lead_by_id.id,
             'external_id': 'acc-1', 'value': 1, 'url': 'https://example.com/whitepaper.pdf'},
            {'type': 'pricing_page', 'occurred_at': '2025-03-02T09:30:00Z', 'email': ' ALICE.Buyer@Example.COM ',
             'external_id': 'acc-2', 'url': 'https://example.com/pricing'},
            {'type': 'visit', 'occurred_at': '2025-03-03T12:00:00', 'lead_ref': 'WEB-42',
             'external_id': 4242, 'value': 30.5, 'user_agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64)'},
        ]


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestEventApi(EventApiCase):
    """The HTTP event API: answers, rejections, errors, and the events it logs."""

    # ------------------------------------------------------------
    # 1. acceptance
    # ------------------------------------------------------------

    def test_batch_by_id_email_and_reference_is_accepted(self):
        response = self._request(json.dumps({'events': self._batch()}))
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.headers['Content-Type'].split(';')[0], 'application/json')
        answer = response.json()
        self._assert_results(answer, [('accepted', None)] * 3)
        self.assertEqual((answer['accepted'], answer['duplicate'], answer['rejected']), (3, 0, 0))

        events = self._events('acc-1', 'acc-2', '4242')
        self.assertEqual(len(events), 3)
        by_id = {event.external_id: event for event in events}
        self.assertEqual(set(events.mapped('state')), {'pending'})
        self.assertEqual(set(events.mapped('source')), {'api'})
        self.assertFalse(any(events.mapped('filter_reason')))

        download = by_id['acc-1']
        self.assertEqual(download.lead_id, self.lead_by_id)
        self.assertEqual(download.type_id, self.env.ref('lead_intelligence.event_type_download'))
        # +08:00 stored as naive UTC
        self.assertEqual(download.occurred_at, datetime(2025, 3, 1, 2, 0, 0))
        self.assertEqual(download.value, 1.0)
        self.assertEqual(download.url, 'https://example.com/whitepaper.pdf')

        pricing = by_id['acc-2']
        self.assertEqual(pricing.lead_id, self.lead_by_email)
        self.assertEqual(pricing.type_id, self.env.ref('lead_intelligence.event_type_pricing_page'))
        self.assertEqual(pricing.occurred_at, datetime(2025, 3, 2, 9, 30, 0))
        self.assertEqual(pricing.value, 0.0)  # no value sent
        self.assertEqual(pricing.url, 'https://example.com/pricing')

        visit = by_id['4242']  # an integer external id is kept as its text
        self.assertEqual(visit.lead_id, self.lead_by_ref)
        self.assertEqual(visit.type_id, self.env.ref('lead_intelligence.event_type_visit'))
        self.assertEqual(visit.occurred_at, datetime(2025, 3, 3, 12, 0, 0))  # naive: UTC
        self.assertEqual(visit.value, 30.5)
        self.assertFalse(visit.url)

        # the leads see their events
        self.assertEqual(self.lead_by_id.event_ids, download)
        self.assertEqual(self.lead_by_email.event_ids, pricing)
        self.assertEqual(self.lead_by_ref.event_ids, visit)

    # ------------------------------------------------------------
    # 2. duplicates
    # ------------------------------------------------------------

    def test_same_batch_twice_is_duplicate(self):
        self._assert_results(self._post(self._batch()), [('accepted', None)] * 3)
        count = self._api_event_count()
        answer = self._post(self._batch())
        self._assert_results(answer, [('duplicate', 'already logged')] * 3)
        self.assertEqual(self._api_event_count(), count)
        self.assertEqual(len(self._events('acc-1', 'acc-2', '4242')), 3)

    def test_repeat_inside_one_batch_is_duplicate(self):
        event = {'type': 'download', 'occurred_at': '2025-03-01T10:00:00Z', 'lead_id': self.lead_by_id.id,
                 'external_id': 'rep-1'}
        # the same external id again, even with other content and padded with spaces
        repeat = dict(event, type='form', external_id='  rep-1 ')
        answer = self._post([event, repeat, dict(event, external_id='rep-2')])
        self._assert_results(answer, [('accepted', None), ('duplicate', 'already logged'), ('accepted', None)])
        events = self._events('rep-1', 'rep-2')
        self.assertEqual(len(events), 2)
        self.assertEqual(events[0].type_id.code, 'download')  # the first one is kept

    # ------------------------------------------------------------
    # 3. rejections
    # ------------------------------------------------------------

    def test_every_rejection_has_its_reason(self):
        now = fields.Datetime.now()
        base = {'type': 'download', 'occurred_at': '2025-03-01T10:00:00Z', 'lead_id': self.lead_by_id.id}
        without_date = {key: value for key, value in base.items() if key != 'occurred_at'}
        cases = [
            (dict(base, type='teleport', external_id='rej-1'), "unknown event type 'teleport'"),
            ({'occurred_at': base['occurred_at'], 'lead_id': base['lead_id'], 'external_id': 'rej-2'},
             "'type' is required"),
            (dict(base, occurred_at='yesterday', external_id='rej-3'), "'occurred_at' must be an ISO 8601"),
            (dict(base, occurred_at=1740823200, external_id='rej-4'), "'occurred_at' must be an ISO 8601"),
            (dict(without_date, external_id='rej-5'), "'occurred_at' is required"),
            (dict(base, occurred_at=self._iso(now + timedelta(days=3)), external_id='rej-6'),
             "'occurred_at' is in the future"),
            (dict(base, occurred_at='1999-12-31T23:00:00Z', external_id='rej-7'), "'occurred_at' is before 2000"),
            (dict(base), "'external_id' is required"),
            (dict(base, external_id='   '), "'external_id' is required"),
            (dict(base, external_id='x' * 129), "'external_id' is longer than 128"),
            ({'type': 'download', 'occurred_at': base['occurred_at'], 'external_id': 'rej-8'},
             "exactly one of 'lead_id', 'email' and 'lead_ref' is required"),
            (dict(base, email='alice.buyer@example.com', external_id='rej-9'),
             "exactly one of 'lead_id', 'email' and 'lead_ref' is required"),
            (dict(base, lead_id=999999999, external_id='rej-10'), 'no lead with lead_id 999999999'),
            (dict(base, lead_id=str(self.lead_by_id.id), external_id='rej-11'), "'lead_id' must be a positive"),
            (dict(base, lead_id=True, external_id='rej-12'), "'lead_id' must be a positive"),
            (dict(base, lead_id=-3, external_id='rej-13'), "'lead_id' must be a positive"),
            ({'type': 'download', 'occurred_at': base['occurred_at'], 'email': 'nobody@example.com',
              'external_id': 'rej-14'}, "no lead with email 'nobody@example.com'"),
            ({'type': 'download', 'occurred_at': base['occurred_at'], 'email': 'not-an-address',
              'external_id': 'rej-15'}, "'email' is not an email address"),
            ({'type': 'download', 'occurred_at': base['occurred_at'], 'lead_ref': 'NOPE-1',
              'external_id': 'rej-16'}, "no lead with lead_ref 'NOPE-1'"),
            (dict(base, value='ten', external_id='rej-17'), "'value' must be a number"),
            (dict(base, value=True, external_id='rej-18'), "'value' must be a number"),
            (dict(base, value=-1, external_id='rej-19'), "'value' must not be negative"),
            (dict(base, url=42, external_id='rej-20'), "'url' must be a string"),
            (dict(base, user_agent=['Mozilla'], external_id='rej-21'), "'user_agent' must be a string"),
            ('just a string', 'an event must be a JSON object'),
            # leads of a company the API user is not in are not found
            (dict(base, lead_id=self.lead_other_company.id, external_id='rej-22'),
             f'no lead with lead_id {self.lead_other_company.id}'),
            ({'type': 'download', 'occurred_at': base['occurred_at'], 'email': 'hidden@example.com',
              'external_id': 'rej-23'}, "no lead with email 'hidden@example.com'"),
            ({'type': 'download', 'occurred_at': base['occurred_at'], 'lead_ref': 'HIDDEN-1',
              'external_id': 'rej-24'}, "no lead with lead_ref 'HIDDEN-1'"),
        ]
        for index, (event, reason) in enumerate(cases):
            with self.subTest(index=index, reason=reason):
                answer = self._post([event])
                self._assert_results(answer, [('rejected', reason)])
        self.assertEqual(self._api_event_count(), 0)
        self.assertFalse(self.env['crm.lead'].search([('email_from', '=', 'nobody@example.com')]))

    def test_partly_bad_batch_keeps_its_valid_events(self):
        good = {'type': 'download', 'occurred_at': '2025-03-01T10:00:00Z', 'lead_id': self.lead_by_id.id}
        answer = self._post([
            dict(good, external_id='part-1'),
            dict(good, type='teleport', external_id='part-2'),
            dict(good, lead_id=999999999, external_id='part-3'),
            dict(good, external_id='part-1'),
            {'type': 'form', 'occurred_at': '2025-03-01T11:00:00Z', 'lead_ref': 'WEB-42', 'external_id': 'part-4'},
            dict(good, value='ten', external_id='part-5'),
        ])
        self._assert_results(answer, [
            ('accepted', None), ('rejected', 'unknown event type'), ('rejected', 'no lead with lead_id'),
            ('duplicate', 'already logged'), ('accepted', None), ('rejected', "'value' must be a number"),
        ])
        events = self._events('part-1', 'part-2', 'part-3', 'part-4', 'part-5')
        self.assertEqual(events.mapped('external_id'), ['part-1', 'part-4'])
        self.assertEqual(events.mapped('lead_id'), self.lead_by_id | self.lead_by_ref)
        self.assertEqual(set(events.mapped('state')), {'pending'})

    def test_unknown_email_creates_a_lead_when_allowed(self):
        self._set_param('api_create_leads', 'True')
        leads_before = self.env['crm.lead'].with_context(active_test=False).search_count([])
        answer = self._post([
            {'type': 'form', 'occurred_at': '2025-03-01T10:00:00Z', 'email': 'New.Person@Example.COM',
             'external_id': 'new-1'},
            {'type': 'download', 'occurred_at': '2025-03-01T10:05:00Z', 'email': 'new.person@example.com',
             'external_id': 'new-2'},
            # a known email still goes to its lead
            {'type': 'download', 'occurred_at': '2025-03-01T10:05:00Z', 'email': 'alice.buyer@example.com',
             'external_id': 'new-3'},
            # an unknown lead id or reference is still refused
            {'type': 'download', 'occurred_at': '2025-03-01T10:05:00Z', 'lead_ref': 'NOPE-2',
             'external_id': 'new-4'},
        ])
        self._assert_results(answer, [('accepted', None), ('accepted', None), ('accepted', None),
                                      ('rejected', "no lead with lead_ref 'NOPE-2'")])
        self.env.invalidate_all()
        self.assertEqual(self.env['crm.lead'].with_context(active_test=False).search_count([]), leads_before + 1)
        lead = self.env['crm.lead'].search([('email_normalized', '=', 'new.person@example.com')])
        self.assertEqual(len(lead), 1)
        self.assertEqual(lead.type, 'lead')
        self.assertEqual(lead.company_id, self.company)
        events = self._events('new-1', 'new-2', 'new-3')
        self.assertEqual(events.mapped('lead_id'), lead | self.lead_by_email)
        self.assertEqual(self._events('new-1', 'new-2').lead_id, lead)

        # the same email later finds the lead created, and creates no other
        answer = self._post([{'type': 'visit', 'occurred_at': '2025-03-02T10:00:00Z', 'value': 60,
                              'email': 'new.person@example.com', 'external_id': 'new-5'}])
        self._assert_results(answer, [('accepted', None)])
        self.assertEqual(self._events('new-5').lead_id, lead)
        self.assertEqual(self.env['crm.lead'].with_context(active_test=False).search_count([]), leads_before + 1)

    def test_unknown_email_is_rejected_when_creation_is_off(self):
        self._set_param('api_create_leads', 'False')
        answer = self._post([{'type': 'form', 'occurred_at': '2025-03-01T10:00:00Z',
                              'email': 'stranger@example.com', 'external_id': 'off-1'}])
        self._assert_results(answer, [('rejected', "no lead with email 'stranger@example.com'")])
        self.env.invalidate_all()
        self.assertFalse(self.env['crm.lead'].with_context(active_test=False).search(
            [('email_normalized', '=', 'stranger@example.com')]))
        self.assertFalse(self._events('off-1'))

    # ------------------------------------------------------------
    # 4. HTTP errors
    # ------------------------------------------------------------

    def test_authentication_and_authorisation(self):
        body = json.dumps({'events': self._batch()})
        response = self._request(body, key=False)
        self.assertEqual(response.status_code, 401, response.text)
        response = self._request(body, key='0123456789abcdef0123456789abcdef01234567')
        self.assertEqual(response.status_code, 401, response.text)
        response = self._request(body, key=self.key[:-1] + ('0' if self.key[-1] != '0' else '1'))
        self.assertEqual(response.status_code, 401, response.text)
        response = self._request(body, key=self.plain_key)
        self.assertEqual(response.status_code, 403, response.text)
        self.assertEqual(response.json()['error']['code'], 403)
        self.assertIn('Lead Intelligence: Event API', response.json()['error']['message'])
        # an archived integration user's key no longer works
        self.api_user.active = False
        self.env.flush_all()
        response = self._request(body)
        self.assertEqual(response.status_code, 401, response.text)
        self.assertEqual(self._api_event_count(), 0)

    def test_expired_key_is_refused(self):
        key = self.env['res.users.apikeys'].sudo().with_user(self.api_user)._generate(
            None, 'short key', fields.Datetime.now() + timedelta(hours=1))
        self.assertEqual(self._post([], key=key), {'results': [], 'accepted': 0, 'duplicate': 0, 'rejected': 0})
        self.env.cr.execute("UPDATE res_users_apikeys SET expiration_date = now() at time zone 'utc' - "
                            "interval '1 minute' WHERE name = 'short key'")
        response = self._request(json.dumps({'events': []}), key=key)
        self.assertEqual(response.status_code, 401, response.text)

    def test_malformed_bodies(self):
        for body in ('{"events": [', 'not json at all', '\udcff'.encode('utf-8', 'surrogatepass')):
            with self.subTest(body=body):
                response = self._request(body)
                self.assertEqual(response.status_code, 400, response.text)
                self.assertEqual(response.json()['error']['code'], 400)
                self.assertIn('not valid JSON', response.json()['error']['message'])
        for body in ('[]', '"events"', '{"events": {"type": "visit"}}', '{"event": []}', '{"events": null}',
                     'null', '42'):
            with self.subTest(body=body):
                response = self._request(body)
                self.assertEqual(response.status_code, 400, response.text)
                self.assertIn('{"events": [...]}', response.json()['error']['message'])
        self.assertEqual(self._api_event_count(), 0)

    def test_too_many_events(self):
        self._set_param('api_max_events', '2')
        event = {'type': 'download', 'occurred_at': '2025-03-01T10:00:00Z', 'lead_id': self.lead_by_id.id}
        events = [dict(event, external_id=f'max-{index}') for index in range(3)]
        response = self._request(json.dumps({'events': events}))
        self.assertEqual(response.status_code, 413, response.text)
        self.assertEqual(response.json()['error']['code'], 413)
        self.assertIn('at most 2', response.json()['error']['message'])
        self.assertEqual(self._api_event_count(), 0)
        # the limit itself is fine
        self._assert_results(self._post(events[:2]), [('accepted', None)] * 2)
        self.assertEqual(self._api_event_count(), 2)

    def test_body_too_large(self):
        events = [{'type': 'download', 'occurred_at': '2025-03-01T10:00:00Z', 'lead_id': self.lead_by_id.id,
                   'external_id': f'size-{index}'} for index in range(5)]
        body = json.dumps({'events': events})
        with patch.object(controller, 'MAX_BODY_BYTES', len(body) - 1):
            response = self._request(body)
        self.assertEqual(response.status_code, 413, response.text)
        self.assertIn(f'larger than {len(body) - 1} bytes', response.json()['error']['message'])
        self.assertEqual(self._api_event_count(), 0)
        with patch.object(controller, 'MAX_BODY_BYTES', len(body)):
            self._assert_results(self._post(events), [('accepted', None)] * 5)

    def test_unusable_settings_answer_a_json_error(self):
        for key, value, message in (('bot_user_agents', '(unclosed', 'bot user agent patterns'),
                                    ('api_max_events', '0', 'settings are inconsistent')):
            with self.subTest(key=key):
                self._set_param(key, value)
                response = self._request(json.dumps({'events': self._batch()}))
                self.assertEqual(response.status_code, 503, response.text)
                self.assertEqual(response.headers['Content-Type'].split(';')[0], 'application/json')
                self.assertEqual(response.json()['error']['code'], 503)
                self.assertIn(message, response.json()['error']['message'])
                self.assertEqual(self._api_event_count(), 0)
                self._set_param(key, {'bot_user_agents': '', 'api_max_events': '1000'}[key])
        self._assert_results(self._post(self._batch()), [('accepted', None)] * 3)

    def test_only_post(self):
        response = self.url_open(URL, headers={'Authorization': f'Bearer {self.key}'})
        self.assertNotEqual(response.status_code, 200)
        self.assertEqual(response.status_code, 405, response.text)
        response = self.url_open(URL, headers={'Authorization': f'Bearer {self.key}'}, method='PUT',
                                 data=json.dumps({'events': []}))
        self.assertEqual(response.status_code, 405, response.text)

    # ------------------------------------------------------------
    # 5. filtered at once: bots and short visits
    # ------------------------------------------------------------

    def test_bots_and_short_visits_are_logged_filtered(self):
        self._set_param('bot_user_agents', 'AcmeScanner\n')
        base = {'occurred_at': '2025-03-01T10:00:00Z', 'lead_id': self.lead_by_id.id}
        answer = self._post([
            dict(base, type='download', external_id='flt-1',
                 user_agent='Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'),
            dict(base, type='visit', value=60, external_id='flt-2', user_agent='AcmeScanner 3.0'),
            dict(base, type='visit', value=3, external_id='flt-3'),
            dict(base, type='visit', value=4.99, external_id='flt-4', user_agent='Mozilla/5.0 (X11; Linux x86_64)'),
            dict(base, type='visit', value=5, external_id='flt-5'),  # exactly the minimum: counted
            dict(base, type='visit', external_id='flt-6'),  # no duration: counted
            dict(base, type='download', value=1, external_id='flt-7'),  # not a visit: no dwell rule
            dict(base, type='visit', value=1, external_id='flt-8', user_agent='python-requests/2.31'),
        ])
        self._assert_results(answer, [('accepted', None)] * 8)
        states = {event.external_id: (event.state, event.filter_reason or False)
                  for event in self._events(*[f'flt-{index}' for index in range(1, 9)])}
        self.assertEqual(states, {
            'flt-1': ('filtered', 'bot'),
            'flt-2': ('filtered', 'bot'),
            'flt-3': ('filtered', 'dwell'),
            'flt-4': ('filtered', 'dwell'),
            'flt-5': ('pending', False),
            'flt-6': ('pending', False),
            'flt-7': ('pending', False),
            'flt-8': ('filtered', 'bot'),  # a bot first, whatever its duration
        })

    def test_min_dwell_setting_is_applied(self):
        self._set_param('min_dwell', '30')
        base = {'type': 'visit', 'occurred_at': '2025-03-01T10:00:00Z', 'lead_ref': 'WEB-42'}
        answer = self._post([dict(base, value=20, external_id='dw-1'), dict(base, value=30, external_id='dw-2')])
        self._assert_results(answer, [('accepted', None)] * 2)
        events = self._events('dw-1', 'dw-2')
        self.assertEqual([(event.state, event.filter_reason or False) for event in events],
                         [('filtered', 'dwell'), ('pending', False)])

    # ------------------------------------------------------------
    # 6. end to end: API, then the event job
    # ------------------------------------------------------------

    def test_events_sent_are_counted(self):
        now = fields.Datetime.now().replace(microsecond=0)
        lead = self.lead_by_email
        self.assertEqual((lead.download_count, lead.visit_count, lead.buying_signal_count), (0, 0, 0))
        self.assertFalse(lead.last_engagement_date)
        moments = [now - timedelta(hours=6 - index) for index in range(6)]
        answer = self._post([
            {'type': 'download', 'occurred_at': self._iso(moments[0]), 'email': 'alice.buyer@example.com',
             'external_id': 'e2e-1'},
            {'type': 'download', 'occurred_at': self._iso(moments[1]), 'email': 'alice.buyer@example.com',
             'external_id': 'e2e-2'},
            {'type': 'visit', 'occurred_at': self._iso(moments[2]), 'value': 120, 'email': 'alice.buyer@example.com',
             'external_id': 'e2e-3'},
            {'type': 'quote_request', 'occurred_at': (moments[3] + timedelta(hours=8)).isoformat() + '+08:00',
             'email': 'ALICE.BUYER@example.com', 'external_id': 'e2e-4'},
            {'type': 'pricing_page', 'occurred_at': self._iso(moments[4]), 'email': 'alice.buyer@example.com',
             'external_id': 'e2e-5'},
            # filtered at once: neither counted nor the last engagement
            {'type': 'visit', 'occurred_at': self._iso(moments[5]), 'value': 2, 'email': 'alice.buyer@example.com',
             'external_id': 'e2e-6'},
            {'type': 'download', 'occurred_at': self._iso(moments[5]), 'email': 'alice.buyer@example.com',
             'external_id': 'e2e-7', 'user_agent': 'Googlebot/2.1'},
        ])
        self._assert_results(answer, [('accepted', None)] * 7)
        with self._mock_commit_progress():
            self.env['crm.lead.event']._cron_count_events()
        self.env.invalidate_all()
        events = self._events(*[f'e2e-{index}' for index in range(1, 8)])
        self.assertEqual(
            [(event.external_id, event.state, event.filter_reason or False) for event in events.sorted('id')],
            [('e2e-1', 'counted', False), ('e2e-2', 'counted', False), ('e2e-3', 'counted', False),
             ('e2e-4', 'counted', False), ('e2e-5', 'counted', False), ('e2e-6', 'filtered', 'dwell'),
             ('e2e-7', 'filtered', 'bot')])
        self.assertEqual(lead.download_count, 2)
        self.assertEqual(lead.visit_count, 1)
        self.assertEqual(lead.buying_signal_count, 2)
        self.assertEqual(lead.last_engagement_date, moments[4])
        self.assertGreater(lead.engagement_score, 0)
        self.assertFalse(lead.score_dirty)
        score = lead.engagement_score
        # the other leads are untouched
        self.assertEqual((self.lead_by_id.download_count, self.lead_by_id.visit_count), (0, 0))

        # sending the same events again and counting again changes nothing
        self._assert_results(self._post([{'type': 'download', 'occurred_at': self._iso(moments[0]),
                                          'email': 'alice.buyer@example.com', 'external_id': 'e2e-1'}]),
                             [('duplicate', 'already logged')])
        with self._mock_commit_progress():
            self.env['crm.lead.event']._cron_count_events()
        self.env.invalidate_all()
        self.assertEqual((lead.download_count, lead.visit_count, lead.buying_signal_count), (2, 1, 2))
        self.assertEqual(lead.engagement_score, score)

    # ------------------------------------------------------------
    # input PostgreSQL or Python cannot take: refused per event, never a 500
    # ------------------------------------------------------------

    def test_nul_characters_are_rejected_per_event(self):
        # PostgreSQL refuses NUL characters in text: such an event is rejected, the others kept
        good = {'type': 'download', 'occurred_at': '2025-03-01T10:00:00Z', 'lead_id': self.lead_by_id.id}
        response = self._request(json.dumps({'events': [
            dict(good, external_id='nul-ok'),
            dict(good, external_id='nul\x00id'),
            dict(good, external_id='nul-url', url='https://example.com/\x00'),
            {'type': 'download', 'occurred_at': '2025-03-01T10:00:00Z', 'email': 'a\x00b@example.com',
             'external_id': 'nul-email'},
            {'type': 'download', 'occurred_at': '2025-03-01T10:00:00Z', 'lead_ref': 'WEB\x0042',
             'external_id': 'nul-ref'},
        ]}))
        self.assertEqual(response.status_code, 200, response.text[:500])
        self._assert_results(response.json(), [
            ('accepted', None), ('rejected', "'external_id'"), ('rejected', "'url'"), ('rejected', "'email'"),
            ('rejected', "'lead_ref'")])
        self.assertEqual(self._events('nul-ok').lead_id, self.lead_by_id)

    def test_dates_out_of_range_are_rejected_per_event(self):
        # a date whose conversion to UTC leaves the years 1-9999 is rejected, not a 500
        good = {'type': 'download', 'lead_id': self.lead_by_id.id}
        response = self._request(json.dumps({'events': [
            dict(good, occurred_at='2025-03-01T10:00:00Z', external_id='year-ok'),
            dict(good, occurred_at='9999-12-31T23:59:59-12:00', external_id='year-max'),
            dict(good, occurred_at='0001-01-01T00:00:00+01:00', external_id='year-min'),
        ]}))
        self.assertEqual(response.status_code, 200, response.text[:500])
        self._assert_results(response.json(), [
            ('accepted', None), ('rejected', "'occurred_at'"), ('rejected', "'occurred_at'")])

    def test_huge_values_do_not_break_the_event_job(self):
        # a huge value must neither break the event job (integer counters) nor be counted as is:
        # it is rejected (and the counters' UPDATE saturates anyway)
        now = fields.Datetime.now().replace(microsecond=0)
        for value in (3e9, 1e308):
            with self.subTest(value=value), self.env.cr.savepoint():
                answer = self._post([{'type': 'time_on_site', 'occurred_at': self._iso(now - timedelta(hours=1)),
                                      'lead_id': self.lead_by_id.id, 'value': value,
                                      'external_id': f'huge-{value}'}])
                if answer['rejected']:
                    self._assert_results(answer, [('rejected', "'value'")])
                    continue
                self._assert_results(answer, [('accepted', None)])
                with self._mock_commit_progress():
                    self.env['crm.lead.event']._cron_count_events()  # must not raise
                self.env.invalidate_all()
                self.assertEqual(self._events(f'huge-{value}').state, 'counted')
                self.assertTrue(0 < self.lead_by_id.time_on_site <= 2 ** 31 - 1)
