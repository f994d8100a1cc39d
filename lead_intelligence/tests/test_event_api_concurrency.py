import json
import threading
from contextlib import closing, contextmanager
from datetime import timedelta
from unittest.mock import patch

import requests

from odoo import SUPERUSER_ID, Command, api, fields, sql_db
from odoo.modules.registry import DummyRLock, Registry
from odoo.tests import HOST, TransactionCase, tagged
from odoo.tools import SQL, config, mute_logger

from .test_event_api import URL, EventApiCase


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestEventApiReplay(EventApiCase):
    """A request that fails to serialize is run again by Odoo: it must read its body again."""

    def _commit_concurrent_update(self, cr):
        """Make the next write of the ``database.uuid`` parameter in ``cr`` fail
        to serialize, as when another request logged the same event meanwhile:
        another transaction writes it and commits after ``cr``'s snapshot."""
        query = SQL("UPDATE ir_config_parameter SET value = value WHERE key = 'database.uuid'")
        with closing(sql_db.db_connect(cr.dbname).cursor()) as other:
            other.execute("SET lock_timeout = '10s'")
            other.execute(query)
            other.commit()
        cr.execute(query)

    @mute_logger('odoo.sql_db')  # the failed UPDATE is logged as a bad query, as in any Odoo conflict
    def test_a_request_run_again_after_a_conflict_reads_its_body_again(self):
        Event = type(self.env['crm.lead.event'])
        insert_events = Event._insert_events
        attempts = []

        def conflict_once(model, rows, source):
            attempts.append(len(rows))
            if len(attempts) == 1:
                self._commit_concurrent_update(model.env.cr)
            return insert_events(model, rows, source)

        with patch.object(Event, '_insert_events', conflict_once):
            answer = self._post(self._batch())
        self.assertEqual(attempts, [3, 3], 'the first attempt failed to serialize, the second one logged the batch')
        self._assert_results(answer, [('accepted', None)] * 3)
        self.assertEqual(len(self._events('acc-1', 'acc-2', '4242')), 3)


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestEventApiConcurrentBatches(TransactionCase):
    """Two integrators sending, at the same time, batches that share an event:
    real HTTP requests, each in its own transaction.

    The requests commit, so this case commits its user, API key and leads
    through a cursor of its own, and removes them after.
    """

    ROUNDS = 4
    OWN_EVENTS = 10

    @contextmanager
    def _worker(self):
        with closing(sql_db.db_connect(self.env.cr.dbname).cursor()) as cr:
            cr.execute("SET lock_timeout = '10s'")
            yield api.Environment(cr, SUPERUSER_ID, {})

    def setUp(self):
        super().setUp()
        with self._worker() as env:
            self.user = env['res.users'].create({
                'name': 'Concurrent integration', 'login': 'li_api_concurrent', 'share': False,
                'group_ids': [Command.set([env.ref('base.group_user').id,
                                           env.ref('lead_intelligence.group_lead_intelligence_api').id])],
            })
            self.key = env['res.users.apikeys'].with_user(self.user)._generate(
                None, 'concurrency test', fields.Datetime.now() + timedelta(hours=1))
            self.lead_ids = env['crm.lead'].create(
                [{'name': f'Concurrent events {n}', 'type': 'lead'} for n in range(2)]).ids
            self.trigger_after = env.execute_query(SQL('SELECT COALESCE(max(id), 0) FROM ir_cron_trigger'))[0][0]
            env.cr.commit()
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self._worker() as env:
            env.cr.execute(SQL("DELETE FROM mail_message WHERE model = 'crm.lead' AND res_id = ANY(%s)",
                               self.lead_ids))
            env.cr.execute(SQL('DELETE FROM crm_lead WHERE id = ANY(%s)', self.lead_ids))
            env.cr.execute(SQL('DELETE FROM ir_cron_trigger WHERE id > %s', self.trigger_after))
            env.cr.execute(SQL('DELETE FROM res_users_apikeys WHERE user_id = %s', self.user.id))
            partner = self.user.with_env(env).partner_id
            self.user.with_env(env).unlink()
            partner.unlink()
            env.cr.commit()

    def _post(self, events, answers):
        response = requests.post(
            f'http://{HOST}:{config["http_port"]}{URL}', data=json.dumps({'events': events}), timeout=120,
            headers={'Authorization': f'Bearer {self.key}', 'Content-Type': 'application/json',
                     'X-Odoo-Database': self.env.cr.dbname})
        answers.append((response.status_code, response.json() if response.status_code == 200 else response.text))

    @mute_logger('odoo.sql_db')  # the failed INSERT is logged as a bad query, as in any Odoo conflict
    def test_events_shared_by_concurrent_batches_are_logged_once_and_none_is_lost(self):
        Event = type(self.env['crm.lead.event'])
        insert_events = Event._insert_events
        barrier = threading.Barrier(2, timeout=60)
        met, lock, attempts = set(), threading.Lock(), []

        def insert_together(model, rows, source):
            # both requests have validated their batch: they insert at the same time, so that
            # one waits for the other's shared event, then fails to serialize when it commits
            with lock:
                attempts.append(threading.get_ident())
                first = threading.get_ident() not in met
                met.add(threading.get_ident())
            if first:
                barrier.wait()
            return insert_events(model, rows, source)

        expected = {}
        # the test runner holds the registry lock that requests take; Odoo's own
        # HTTP tests drop it the same way (but share the test's cursor)
        with patch.object(Registry, '_lock', DummyRLock()), patch.object(Event, '_insert_events', insert_together):
            for round_ in range(self.ROUNDS):
                shared = {'type': 'download', 'occurred_at': '2026-01-05T10:00:00Z', 'lead_id': self.lead_ids[0],
                          'external_id': f'round-{round_}-shared'}
                batches = [[{'type': 'visit', 'occurred_at': '2026-01-05T10:00:00Z', 'lead_id': lead_id,
                             'value': 60, 'external_id': f'round-{round_}-client-{client}-{n}'}
                            for n in range(self.OWN_EVENTS)] + [shared]
                           for client, lead_id in enumerate(self.lead_ids)]
                answers = [[], []]
                met.clear()
                attempts.clear()
                threads = [threading.Thread(target=self._post, args=(batch, answer))
                           for batch, answer in zip(batches, answers, strict=True)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(180)
                statuses = {}
                for batch, answer in zip(batches, answers, strict=True):
                    (status, body), = answer
                    self.assertEqual(status, 200, body)
                    self.assertEqual([result['index'] for result in body['results']], list(range(len(batch))))
                    for event, result in zip(batch, body['results'], strict=True):
                        statuses.setdefault(event['external_id'], []).append(result['status'])
                self.assertEqual(len(attempts), 3, 'one of the two requests failed to serialize and ran again')
                shared_statuses = statuses.pop(shared['external_id'])
                self.assertEqual(sorted(shared_statuses), ['accepted', 'duplicate'])
                self.assertEqual(set(map(tuple, statuses.values())), {('accepted',)})
                expected.update(dict.fromkeys([shared['external_id'], *statuses], 1))

        with self._worker() as env:
            logged = dict(env.execute_query(SQL(
                'SELECT external_id, count(*) FROM crm_lead_event WHERE lead_id = ANY(%s) GROUP BY external_id',
                self.lead_ids)))
        self.assertEqual(len(expected), self.ROUNDS * (2 * self.OWN_EVENTS + 1))
        self.assertEqual(logged, expected, 'every event logged exactly once')
