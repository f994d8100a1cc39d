import json
from datetime import datetime, timedelta
from unittest.mock import patch

from odoo import Command, fields
from odoo.tests import HttpCase, tagged

DIRTY_JOB = 'lead_intelligence.ir_cron_rescore_dirty_leads'
COUNT_JOB = 'lead_intelligence.ir_cron_count_events'


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestScoringLatency(HttpCase):
    """Leads changed over RPC and events sent to the API wake their batch job as soon as
    the request's transaction commits, one trigger per transaction, instead of waiting
    for the job's 5-minute interval."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.env.company
        salesman = cls.env['res.users'].create({
            'name': 'Latency RPC Salesman', 'login': 'li_latency_rpc', 'company_id': company.id,
            'company_ids': [Command.set(company.ids)],
            'group_ids': [Command.set([cls.env.ref('sales_team.group_sale_salesman_all_leads').id,
                                       cls.env.ref('lead_intelligence.group_lead_intelligence_api').id])],
        })
        cls.key = cls.env['res.users.apikeys'].with_user(salesman)._generate(
            'rpc', 'latency test key', datetime.now() + timedelta(hours=12))
        cls.env['ir.config_parameter'].sudo().set_param('lead_intelligence.bot_user_agents', '')
        cls.dirty_job = cls.env.ref(DIRTY_JOB)
        cls.count_job = cls.env.ref(COUNT_JOB)
        # the jobs' next run by interval is far away: only a trigger makes them ready now
        (cls.dirty_job | cls.count_job).write({'nextcall': fields.Datetime.now() + timedelta(days=1)})

    def setUp(self):
        super().setUp()
        self.env['ir.cron.trigger'].search([('cron_id', 'in', (self.dirty_job | self.count_job).ids)]).unlink()

    def _call(self, path, **params):
        response = self.url_open(path, data=json.dumps(params), headers={
            'Content-Type': 'application/json', 'Authorization': f'Bearer {self.key}'})
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()

    def _triggers(self, job):
        self.env.invalidate_all()
        return self.env['ir.cron.trigger'].search([('cron_id', '=', job.id)])

    def _run_dirty_job(self):
        with patch.object(type(self.env['ir.cron']), '_commit_progress', lambda *args, **kwargs: float('inf')):
            self.env['crm.lead']._cron_rescore_dirty_leads()
        self.env.invalidate_all()

    def test_a_create_over_json2_triggers_the_dirty_job_once(self):
        ids = self._call('/json/2/crm.lead/create', vals_list=[
            {'name': f'RPC lead {i}', 'function': 'CEO', 'expected_revenue': 80000} for i in range(5)])
        triggers = self._triggers(self.dirty_job)
        self.assertEqual(len(triggers), 1, 'five leads in one transaction: one trigger')
        self.assertLessEqual(triggers.call_at, fields.Datetime.now(), 'due at once, not at the next interval')
        leads = self.env['crm.lead'].browse(ids)
        self.assertTrue(all(leads.mapped('score_dirty')))

        self._run_dirty_job()
        self.assertFalse(any(leads.mapped('score_dirty')))
        self.assertTrue(all(leads.mapped('tier_id')))
        scores = self._call('/json/2/crm.lead/read', ids=ids, fields=['score'])
        self.assertEqual([row['score'] for row in scores], leads.mapped('score'))
        self.assertTrue(all(row['score'] for row in scores), 'the new scores are readable over RPC')

    def test_a_burst_of_writes_makes_one_trigger_per_transaction(self):
        Lead = self.env['crm.lead']
        leads = Lead.create([{'name': f'Burst lead {i}'} for i in range(4)])
        for i in range(10):
            leads.write({'expected_revenue': 1000 * (i + 1)})
            Lead.create({'name': f'Burst lead created {i}'})
        self.assertEqual(len(self._triggers(self.dirty_job)), 1, 'a burst in one transaction: one trigger')
        Lead._score_leads(leads.ids, 'manual')

        # a write that cannot move a score flags nothing and wakes nothing
        self._call('/json/2/crm.lead/write', ids=leads.ids, vals={'color': 3})
        self.assertEqual(len(self._triggers(self.dirty_job)), 1)
        self.assertFalse(any(leads.mapped('score_dirty')))

        for lead in leads:  # each request is a transaction of its own: one trigger each
            self._call('/json/2/crm.lead/write', ids=lead.ids, vals={'function': 'CEO'})
        self.assertEqual(len(self._triggers(self.dirty_job)), 1 + len(leads))
        self.assertTrue(all(leads.mapped('score_dirty')))

    def test_an_event_sent_to_the_api_triggers_the_count_job(self):
        lead = self.env['crm.lead'].create({'name': 'Lead with events'})
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        events = [{'type': 'download', 'lead_id': lead.id, 'external_id': f'latency-{i}',
                   'occurred_at': (datetime.now() - timedelta(minutes=i + 1)).strftime('%Y-%m-%dT%H:%M:%SZ')}
                  for i in range(3)]
        answer = self._call('/lead_intelligence/v1/events', events=events)
        self.assertEqual(answer['accepted'], 3, answer)
        self.assertEqual(len(self._triggers(self.count_job)), 1, 'three events in one request: one trigger')
        self.assertLessEqual(self._triggers(self.count_job).call_at, fields.Datetime.now())
        self._call('/lead_intelligence/v1/events', events=[dict(events[0], external_id='latency-next')])
        self.assertEqual(len(self._triggers(self.count_job)), 2, 'the next request is its own transaction')
