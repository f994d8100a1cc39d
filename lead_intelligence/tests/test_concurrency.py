from contextlib import closing, contextmanager

from odoo import SUPERUSER_ID, api, sql_db
from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL, mute_logger

from ..models import bulk


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestConcurrentWorkers(TransactionCase):
    """Two workers scoring dirty leads at once, each in its own real transaction.

    The test transaction cannot see what other transactions commit, so this case
    works only through real cursors, commits its own leads and removes them after.
    """

    @contextmanager
    def _worker(self):
        with closing(sql_db.db_connect(self.env.cr.dbname).cursor()) as cr:
            cr.execute("SET lock_timeout = '10s'")
            yield api.Environment(cr, SUPERUSER_ID, {})

    def _cleanup(self, lead_ids):
        with self._worker() as env:
            env.cr.execute(SQL("DELETE FROM mail_message WHERE model = 'crm.lead' AND res_id = ANY(%s)", lead_ids))
            env.cr.execute(SQL('DELETE FROM crm_lead WHERE id = ANY(%s)', lead_ids))
            env.cr.commit()

    def test_two_workers_never_score_a_lead_twice_nor_lose_one(self):
        with self._worker() as env:
            leads = env['crm.lead'].create([
                {'name': f'Concurrent {i}', 'function': 'CEO', 'expected_revenue': 1000 * i} for i in range(6)])
            lead_ids = leads.ids
            env.cr.commit()
        self.addCleanup(self._cleanup, lead_ids)

        with self._worker() as worker_a, self._worker() as worker_b:
            # worker A claims half of the leads as the job does, and is still scoring them
            claimed = [row[0] for row in worker_a.execute_query(SQL(
                """SELECT lead.id FROM crm_lead_dirty dirty JOIN crm_lead lead ON lead.id = dirty.lead_id
                    WHERE lead.id = ANY(%s) ORDER BY dirty.lead_id LIMIT 3
                   FOR NO KEY UPDATE OF lead SKIP LOCKED""", lead_ids))]
            self.assertEqual(claimed, lead_ids[:3])
            # worker B runs the whole job meanwhile: it skips A's leads instead of waiting for them
            worker_b['crm.lead']._cron_rescore_dirty_leads()
            scored_by_b = {row[0] for row in worker_b.execute_query(SQL(
                'SELECT lead_id FROM crm_lead_score_history WHERE lead_id = ANY(%s)', lead_ids))}
            self.assertEqual(scored_by_b, set(lead_ids[3:]))
            # A finishes its chunk
            worker_a['crm.lead']._score_leads(claimed, 'lead')
            worker_a.cr.commit()
            # a job started after both finds nothing left to do
            worker_b['crm.lead']._cron_rescore_dirty_leads()

        with self._worker() as env:
            rows = env.execute_query(SQL(
                """SELECT l.id, EXISTS (SELECT 1 FROM crm_lead_dirty d WHERE d.lead_id = l.id), count(h.id)
                     FROM crm_lead l LEFT JOIN crm_lead_score_history h ON h.lead_id = l.id
                    WHERE l.id = ANY(%s) GROUP BY l.id ORDER BY l.id""", lead_ids))
        self.assertEqual(rows, [(lead_id, False, 1) for lead_id in lead_ids],
                         'every lead scored exactly once, none left dirty')

    def _fit_only_scores(self):
        """Score on profile fit alone (committed, restored after the test): the
        leads below reach the top tier without any behaviour."""
        keys = ('lead_intelligence.weight_fit', 'lead_intelligence.weight_engagement')
        with self._worker() as env:
            params = env['ir.config_parameter']
            before = {key: params.get_param(key) for key in keys}
            params.set_param(keys[0], '100')
            params.set_param(keys[1], '0')
            env.cr.commit()

        def restore():
            with self._worker() as env:
                for key, value in before.items():
                    env['ir.config_parameter'].set_param(key, value)
                env.cr.commit()
        self.addCleanup(restore)

    def _edit_while_the_pass_scores(self, lead_id):
        """Score ``lead_id`` as the full pass does, from a snapshot taken before a
        user's edit commits; return how many attempts it took."""
        attempts = []
        with self._worker() as nightly, self._worker() as user:
            nightly.cr.execute('SELECT 1')  # the pass's transaction takes its snapshot
            user['crm.lead'].browse(lead_id).write({
                'function': 'CEO', 'expected_revenue': 90000, 'phone': '+1 555 0199', 'partner_name': 'Big Co',
                'priority': '3', 'referred': 'A partner'})
            user.cr.commit()

            def score():
                attempts.append(True)
                return nightly['crm.lead']._score_leads([lead_id], 'nightly')

            bulk.retry_on_conflict(nightly, score)
            nightly.cr.commit()
        return len(attempts)

    @mute_logger('odoo.sql_db')  # the failed UPDATE is logged as a bad query, as in any Odoo conflict
    def test_full_pass_never_loses_an_edit_made_meanwhile(self):
        """The full pass takes no row lock. A lead edited after its snapshot is
        either left alone, still flagged dirty for the 5-minute job, or, when the
        pass must write it, fails to serialize and is scored again."""
        self._fit_only_scores()
        with self._worker() as env:
            leads = env['crm.lead'].create([{'name': 'Left alone'}, {'name': 'Written by the pass'}])
            env['crm.lead']._score_leads(leads.ids, 'manual')
            quiet_id, written_id = leads.ids
            # flagged before the pass: the pass has to write this one (it clears the flag, and the
            # edit flags it again meanwhile: the pass's DELETE of the flag fails to serialize)
            env.cr.execute(SQL('INSERT INTO crm_lead_dirty (lead_id) VALUES (%s)', written_id))
            top_tier = env['crm.lead.tier'].search([], order='min_score desc', limit=1)
            env.cr.commit()
        self.addCleanup(self._cleanup, leads.ids)

        self.assertEqual(self._edit_while_the_pass_scores(quiet_id), 1, 'nothing to write from the old snapshot')
        self.assertEqual(self._edit_while_the_pass_scores(written_id), 2, 'the write failed to serialize, retried')

        with self._worker() as env:
            quiet, written = env['crm.lead'].browse([quiet_id, written_id])
            self.assertTrue(quiet.score_dirty, 'the edit is still flagged for the job')
            self.assertNotEqual(quiet.tier_id, top_tier)
            self.assertEqual((written.tier_id, written.score_dirty), (top_tier, False), 'scored from the edit')
            env['crm.lead']._cron_rescore_dirty_leads()
            self.assertEqual((quiet.tier_id, quiet.score_dirty), (top_tier, False))

    @mute_logger('odoo.sql_db')  # the stale worker's failed lock is logged as a bad query
    def test_two_workers_count_each_event_once(self):
        """Counting jobs in three workers: one holding a chunk, one running
        meanwhile, one whose snapshot predates the first one's commit."""
        with self._worker() as env:
            leads = env['crm.lead'].create([{'name': f'Counted {i}'} for i in range(4)])
            lead_ids = leads.ids
            results = env['crm.lead.event']._ingest([
                {'type': 'download', 'occurred_at': '2026-01-05T10:00:00Z', 'lead_id': lead_id,
                 'external_id': f'concurrency-{lead_id}-{n}'}
                for lead_id in lead_ids for n in range(2)])
            self.assertEqual({result['status'] for result in results}, {'accepted'})
            env.cr.commit()
        self.addCleanup(self._cleanup, lead_ids)

        with self._worker() as worker_a, self._worker() as worker_b, self._worker() as worker_c:
            config = worker_a['crm.lead']._get_scoring_config()
            # A counts the first two leads' events and has not committed yet
            self.assertEqual(worker_a['crm.lead.event']._count_chunk(lead_ids[:2], config), 4)
            # B runs the whole job meanwhile: it skips A's leads instead of waiting for them
            worker_b['crm.lead.event']._cron_count_events()
            # C takes its snapshot before A commits: A's events still look pending to it
            config_c = worker_c['crm.lead']._get_scoring_config()
            worker_a.cr.commit()
            attempts = []

            def count_as_c():
                attempts.append(True)
                return worker_c['crm.lead.event']._count_chunk(lead_ids[:2], config_c)

            self.assertEqual(bulk.retry_on_conflict(worker_c, count_as_c), 0, 'nothing left to count')
            self.assertEqual(len(attempts), 2, "the stale snapshot's claim failed to serialize, then found nothing")
            worker_c.cr.commit()

        with self._worker() as env:
            rows = env.execute_query(SQL(
                """SELECT l.id, l.download_count,
                          (SELECT count(*) FROM crm_lead_event e WHERE e.lead_id = l.id AND e.filter_reason IS NULL
                             AND NOT EXISTS (SELECT 1 FROM crm_lead_event_queue q WHERE q.event_id = e.id)),
                          (SELECT round(units) FROM crm_lead_engagement g WHERE g.lead_id = l.id)
                     FROM crm_lead l WHERE l.id = ANY(%s) ORDER BY l.id""", lead_ids))
        self.assertEqual(rows, [(lead_id, 2, 2, 2) for lead_id in lead_ids], 'each event counted exactly once')
