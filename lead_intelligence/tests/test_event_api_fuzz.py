import json
import random
from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from .test_event_api import EventApiCase

SEED = 20261204
REQUESTS = 8
EVENTS_PER_REQUEST = 50


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestEventApiFuzz(EventApiCase):
    """Seeded batches of valid and hostile events mixed: never a server error,
    no invalid event logged, each valid one logged exactly once."""

    def _valid(self, rng, n):
        """A valid event, as JSON text, and its external id."""
        target = rng.choice([{'lead_id': self.lead_by_id.id}, {'email': ' Alice.Buyer@Example.COM '},
                             {'email': 'Alice Buyer <alice.buyer@example.com>'}, {'lead_ref': 'WEB-42'}])
        external_id = rng.choice([f'fuzz-{n}', f'fuzz-é-{n}-😀', f'  fuzz-space-{n}', f'fuzz-{"x" * 100}-{n}'])
        moment = self.now - timedelta(days=rng.uniform(0, 300))
        item = {'type': rng.choice(['visit', 'download', 'pricing_page', 'form', 'email_open']),
                'occurred_at': rng.choice([moment.isoformat() + 'Z', moment.isoformat(timespec='seconds'),
                                           (moment + timedelta(hours=2)).isoformat() + '+02:00']),
                'external_id': external_id, **target}
        if rng.random() < 0.5:
            item['value'] = rng.choice([0, 1, 30.5, 600, 1_000_000])
        if rng.random() < 0.3:
            item['url'] = rng.choice(['https://example.com/pricing', 'https://exemple.fr/é?q=😀', ''])
        if rng.random() < 0.2:
            item['user_agent'] = rng.choice(['Mozilla/5.0 (X11; Linux x86_64)', 'Googlebot/2.1'])
        if rng.random() < 0.1:
            item['extra'] = [{'nested': [1, 2, {'deeper': None}]}]
        return json.dumps(item, ensure_ascii=rng.random() < 0.5), external_id.strip()

    def _hostile(self, rng, n):
        """An invalid event as JSON text: a valid one with one field spoilt, or no event at all."""
        text, _external_id = self._valid(rng, n)
        item = json.loads(text)
        item['external_id'] = f'bad-{n}'
        target = next(key for key in ('lead_id', 'email', 'lead_ref') if key in item)
        spoilt = rng.choice([
            ('type', 'teleport'), ('type', None), ('type', ['visit']), ('type', 'v' * 5000),
            ('occurred_at', 'yesterday'), ('occurred_at', '2025-03-01T09:30:00\x00Z'),
            ('occurred_at', '2025-03-01T09:30:00X+00:00'), ('occurred_at', 1740823200),
            ('occurred_at', '2025-02-30T10:00:00Z'), ('occurred_at', '9999-12-31T23:59:59-12:00'),
            ('occurred_at', '1999-12-31T23:00:00Z'), ('occurred_at', '2025-03-01T10:00:00\ud800Z'),
            ('external_id', f'bad-\ud800-{n}'), ('external_id', f'bad-\x00-{n}'), ('external_id', 'b' * 129),
            ('external_id', True), ('external_id', 1.5), ('external_id', '   '),
            ('url', 'https://example.com/\udfff'), ('url', 'https://example.com/\x00'), ('url', 'u' * 3000),
            ('url', 42), ('value', -1), ('value', 'ten'), ('value', True), ('value', 1e308), ('value', [1]),
            ('user_agent', ['Mozilla']), ('user_agent', 'a' * 2000),
            (target, None), ('lead_id', 999999999), ('lead_id', 2 ** 31), ('lead_id', -1), ('lead_id', '12'),
            ('email', 'nobody@example.com'), ('email', '(' * 600 + 'alice.buyer@example.com'),
            ('email', 'alice\ud800@example.com'), ('email', 'not-an-address'), ('lead_ref', 'NOPE-1'),
            ('lead_ref', 'WEB-\ud800'), ('lead_ref', {'ref': 'WEB-42'}),
            'raw',
        ])
        if spoilt == 'raw':
            return rng.choice([
                '[' * 3000 + ']' * 3000, '"an event"', 'null', '42', 'NaN', '9' * 5000,
                text[:-1] + ', "value": ' + rng.choice(['NaN', 'Infinity', '-Infinity', '1e999', '9' * 5000]) + '}',
                text[:-1] + ', "extra": ' + '[' * 3000 + ']' * 3000 + '}',
            ])
        key, value = spoilt
        if key != target and key in ('lead_id', 'email', 'lead_ref'):
            item[key] = value  # two targets, or a wrong one
        else:
            item.pop(key, None)
            if value is not None:
                item[key] = value
        return json.dumps(item, ensure_ascii=rng.random() < 0.5)

    def test_seeded_batches_of_valid_and_hostile_events(self):
        rng = random.Random(SEED)
        self.now = fields.Datetime.now()
        sent_valid, logged_valid = [], set()
        for request in range(REQUESTS):
            texts, expected = [], []
            for n in range(EVENTS_PER_REQUEST):
                number = request * EVENTS_PER_REQUEST + n
                if rng.random() < 0.5:
                    text, external_id = self._valid(rng, number)
                    expected.append(external_id)
                    sent_valid.append(text)
                elif sent_valid and rng.random() < 0.2:
                    text = rng.choice(sent_valid)  # sent before: a duplicate, or the first one in this batch
                    expected.append(json.loads(text)['external_id'].strip())
                else:
                    text = self._hostile(rng, number)
                    expected.append(None)
                texts.append(text)
            response = self._request(('{"events": [' + ', '.join(texts) + ']}').encode('utf-8', 'surrogatepass'))
            self.assertEqual(response.status_code, 200, response.text[:1000])
            results = response.json()['results']
            self.assertEqual([result['index'] for result in results], list(range(len(texts))))
            for text, external_id, result in zip(texts, expected, results, strict=True):
                with self.subTest(request=request, event=text[:200]):
                    if external_id is None:
                        self.assertEqual(result['status'], 'rejected', result)
                        self.assertTrue(result['reason'], result)
                    elif external_id in logged_valid:
                        self.assertEqual(result['status'], 'duplicate', result)
                    else:
                        self.assertEqual(result['status'], 'accepted', result)
                        logged_valid.add(external_id)
        self.assertGreater(len(logged_valid), REQUESTS * EVENTS_PER_REQUEST / 3)
        self.env.invalidate_all()
        events = self.env['crm.lead.event'].search([('source', '=', 'api')])
        self.assertEqual(sorted(events.mapped('external_id')), sorted(logged_valid),
                         'every valid event logged exactly once, no invalid one')
