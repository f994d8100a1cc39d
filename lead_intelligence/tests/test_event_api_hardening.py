import json
from datetime import timedelta

from odoo import Command, fields
from odoo.tests import tagged
from odoo.tools import SQL

from .test_event_api import EventApiCase


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestEventApiHostileInput(EventApiCase):
    """Input that Python or PostgreSQL cannot take: the event is rejected on its
    own with a reason, the valid events of its batch are logged, never a 500."""

    def _post_texts(self, items):
        """POST the events given as JSON texts (some cannot be written by ``json.dumps``)."""
        response = self._request('{"events": [' + ', '.join(items) + ']}')
        self.assertEqual(response.status_code, 200, response.text[:500])
        return response.json()

    def _good(self, external_id, **values):
        return json.dumps({'type': 'download', 'occurred_at': '2025-03-01T10:00:00Z', 'lead_id': self.lead_by_id.id,
                           'external_id': external_id, **values})

    def test_an_event_nested_too_deeply_is_rejected_alone(self):
        deep = '[' * 5000 + ']' * 5000
        nested = self._good('deep-x')[:-1] + ', "extra": ' + '{"a": ' * 2000 + '1' + '}' * 2000 + '}'
        answer = self._post_texts([self._good('deep-1'), deep, nested, self._good('deep-2')])
        self._assert_results(answer, [('accepted', None), ('rejected', 'more than 32 levels deep'),
                                      ('rejected', 'more than 32 levels deep'), ('accepted', None)])
        self.assertEqual(self._events('deep-1', 'deep-2', 'deep-x').mapped('external_id'), ['deep-1', 'deep-2'])
        # a body that is only nesting, or not JSON at all, is still refused as a whole
        for body in (deep, '{"events": [' + '[' * 5000 + ']}', '{"events": [' + '[' * 5000):
            with self.subTest(body=body[:20]):
                response = self._request(body)
                self.assertEqual(response.status_code, 400, response.text[:500])

    def test_text_and_numbers_no_column_holds_are_rejected_per_event(self):
        long_comment_email = '(' * 200 + 'alice.buyer@example.com'
        target = {'type': 'download', 'occurred_at': '2025-03-01T10:00:00Z'}
        cases = [
            (self._good('hostile-ok-1'), ('accepted', None)),
            # half of a UTF-16 surrogate pair: PostgreSQL cannot store it
            (self._good('hostile-\ud800'), ('rejected', "'external_id' must be valid Unicode")),
            (self._good('hostile-url', url='https://example.com/\udfff'), ('rejected', "'url' must be valid Unicode")),
            (json.dumps(dict(target, lead_ref='WEB-\ud800', external_id='hostile-ref')),
             ('rejected', "'lead_ref' must be valid Unicode")),
            (json.dumps(dict(target, email='alice\ud800@example.com', external_id='hostile-email')),
             ('rejected', "'email' must be valid Unicode")),
            # an address that Python's email parser reads recursively
            (json.dumps(dict(target, email='(' * 500 + 'alice.buyer@example.com', external_id='hostile-parens')),
             ('rejected', "'email' is longer than 254")),
            (json.dumps(dict(target, email=long_comment_email, external_id='hostile-comments')),
             ('rejected', "'email' is not a valid email address")),
            # a stray character before the offset
            (self._good('hostile-nul-date', occurred_at='2025-03-01T09:30:00\x00Z'), ('rejected', "'occurred_at'")),
            (self._good('hostile-x-date', occurred_at='2025-03-01T09:30:00X+00:00'), ('rejected', "'occurred_at'")),
            # numbers no column holds
            (self._good('hostile-big-id')[:-1].replace(f'"lead_id": {self.lead_by_id.id}', '"lead_id": ' + '9' * 5000)
             + '}', ('rejected', "'lead_id' must be a positive integer")),
            (self._good('hostile-int-id', lead_id=2 ** 31), ('rejected', "'lead_id' must be a positive integer")),
            (self._good('hostile-value-digits')[:-1] + ', "value": ' + '9' * 5000 + '}', ('rejected', "'value'")),
            (self._good('hostile-value-exp')[:-1] + ', "value": 1e999}', ('rejected', "'value' must be a number")),
            (self._good('hostile-nan')[:-1] + ', "value": NaN}', ('rejected', "'value' must be a number")),
            (self._good('hostile-inf')[:-1] + ', "value": -Infinity}', ('rejected', "'value' must be a number")),
            (self._good('hostile-float-id', lead_id=float(self.lead_by_id.id)), ('rejected', "'lead_id'")),
            # long or mistyped text
            (self._good('hostile-type', type='x' * 100000), ('rejected', 'unknown event type')),
            (self._good('hostile-type-list', type=['download']), ('rejected', "'type' is required")),
            (self._good('hostile-long-url', url='https://example.com/' + 'x' * 10000), ('rejected', "'url'")),
            (self._good('hostile-object-ref')[:-1].replace(f'"lead_id": {self.lead_by_id.id}', '"lead_ref": {}')
             + '}', ('rejected', "'lead_ref' must be a string")),
            (self._good('événement-😀', url='https://exemple.fr/écrits/😀'), ('accepted', None)),
        ]
        answer = self._post_texts([text for text, _expected in cases])
        self._assert_results(answer, [expected for _text, expected in cases])
        self.assertEqual(self._api_event_count(), 2)
        events = self._events('hostile-ok-1', 'événement-😀')
        self.assertEqual(events.mapped('external_id'), ['hostile-ok-1', 'événement-😀'])
        self.assertEqual(events[1].url, 'https://exemple.fr/écrits/😀')


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestEventApiCompanies(EventApiCase):
    """External IDs are unique within a company: a company's event never stands
    for another's, and an answer never tells of another company's events."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_api_user = cls.env['res.users'].create({
            'name': 'Other company integration', 'login': 'li_api_other_company', 'share': False,
            'company_id': cls.other_company.id, 'company_ids': [Command.set(cls.other_company.ids)],
            'group_ids': [Command.set([cls.env.ref('base.group_user').id,
                                       cls.env.ref('lead_intelligence.group_lead_intelligence_api').id])],
        })
        cls.other_key = cls.env['res.users.apikeys'].with_user(cls.other_api_user)._generate(
            None, 'test key', fields.Datetime.now() + timedelta(hours=12))
        cls.shared_lead = cls.env['crm.lead'].create({
            'name': 'Lead of every company', 'type': 'lead', 'company_id': False, 'lead_ref': 'SHARED-1'})

    def _logged(self, external_id):
        self.env.invalidate_all()
        return self.env['crm.lead.event'].sudo().search([('external_id', '=', external_id)], order='id')

    def test_each_company_logs_its_own_events_under_the_same_external_id(self):
        event = {'type': 'download', 'occurred_at': '2025-03-01T10:00:00Z', 'external_id': 'X-1'}
        self._assert_results(self._post([dict(event, lead_id=self.lead_by_id.id)]), [('accepted', None)])
        own = dict(event, lead_id=self.lead_other_company.id)
        self._assert_results(self._post([own], key=self.other_key), [('accepted', None)])
        self._assert_results(self._post([own], key=self.other_key), [('duplicate', 'already logged')])
        self._assert_results(self._post([dict(event, lead_id=self.lead_by_id.id)]), [('duplicate', 'already logged')])
        logged = self._logged('X-1')
        self.assertEqual([(e.lead_id, e.company_id) for e in logged],
                         [(self.lead_by_id, self.company), (self.lead_other_company, self.other_company)])

    def test_a_lead_of_every_company_takes_the_sending_company(self):
        event = {'type': 'download', 'occurred_at': '2025-03-01T10:00:00Z', 'lead_ref': 'SHARED-1',
                 'external_id': 'S-1'}
        self._assert_results(self._post([event]), [('accepted', None)])
        self._assert_results(self._post([event], key=self.other_key), [('accepted', None)])
        self._assert_results(self._post([event], key=self.other_key), [('duplicate', 'already logged')])
        self.assertEqual(self._logged('S-1').company_id, self.company | self.other_company)

    def test_imports_find_their_own_company_events_only(self):
        Event = self.env['crm.lead.event']
        type_id = self.env.ref('lead_intelligence.event_type_download').id
        values = {'type_id': type_id, 'occurred_at': '2025-03-01 10:00:00', 'external_id': 'I-1'}
        mine = Event.create(dict(values, lead_id=self.lead_by_id.id))
        theirs = Event.with_company(self.other_company).create(dict(values, lead_id=self.lead_other_company.id))
        self.assertNotEqual(mine, theirs)
        self.assertEqual((mine.company_id, theirs.company_id), (self.company, self.other_company))
        # importing again returns each company's own event
        self.assertEqual(Event.create(dict(values, lead_id=self.lead_by_id.id)), mine)
        self.assertEqual(Event._find_logged([('import', self.other_company.id, 'I-1')]), {
            ('import', self.other_company.id, 'I-1'): theirs.id})
        self.assertEqual(self.env.execute_query(SQL(
            "SELECT count(*) FROM crm_lead_event WHERE external_id = 'I-1'")), [(2,)])
