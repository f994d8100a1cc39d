from unittest.mock import patch

from odoo.tests import Form, tagged, users
from odoo.tools import SQL

from .common import TestLeadIntelligenceCommon
from odoo.addons.base.tests.test_ir_cron import CronMixinCase


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestScoringPipeline(TestLeadIntelligenceCommon, CronMixinCase):

    def test_create_and_write_flag_the_lead_and_the_job_scores_it(self):
        lead = self._create_lead(expected_revenue=60000)
        self.assertTrue(lead.score_dirty)
        self.assertFalse(lead.tier_id)
        with self._mock_commit_progress() as commits:
            self.env['crm.lead']._cron_rescore_dirty_leads()
        self.assertFalse(lead.score_dirty)
        self.assertEqual((lead.fit_score, lead.score, lead.tier_id), (40, 40, self.tier_c))
        self.assertEqual(sum(commits), 1, 'one chunk committed, holding the one dirty lead')

        lead.function = 'CEO'
        self.assertTrue(lead.score_dirty)
        with self._mock_commit_progress():
            self.env['crm.lead']._cron_rescore_dirty_leads()
        self.assertEqual((lead.score, lead.tier_id), (70, self.tier_b))

    def test_writing_fields_that_cannot_move_a_score_does_not_flag(self):
        lead = self._create_lead()
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        lead.color = 4
        self.assertFalse(lead.score_dirty)

    def test_dirty_job_works_in_chunks(self):
        self.env['ir.config_parameter'].sudo().set_param('lead_intelligence.chunk_size', 3)
        leads = self.env['crm.lead'].create([{'name': f'Lead {i}', 'phone': '+1 555 0199'} for i in range(8)])
        with self._mock_commit_progress() as commits:
            self.env['crm.lead']._cron_rescore_dirty_leads()
        self.assertEqual([processed for processed in commits if processed], [3, 3, 2])
        self.assertEqual(set(leads.mapped('score')), {10})
        self.assertFalse(any(leads.mapped('score_dirty')))

    def test_only_changed_leads_are_written(self):
        unchanged = self._create_lead(expected_revenue=60000)
        moving = self._create_lead(expected_revenue=10)
        self.env['crm.lead']._score_leads((unchanged + moving).ids, 'manual')
        unchanged_date = unchanged.score_date
        history = self.env['crm.lead.score.history'].search([('lead_id', 'in', (unchanged + moving).ids)])
        self.assertEqual(len(history), 2)
        moving.expected_revenue = 70000
        with self._mock_commit_progress():
            self.env['crm.lead']._cron_rescore_all_leads()
        self.assertEqual(unchanged.score_date, unchanged_date, 'an unchanged lead is not rewritten')
        history = self.env['crm.lead.score.history'].search([('lead_id', 'in', (unchanged + moving).ids)])
        self.assertEqual(len(history), 3, 'one more history row, for the lead that moved')
        self.assertFalse(moving.score_dirty)

    def test_scoring_a_flagged_lead_leaves_its_row_alone(self):
        """The flag is not on the lead: scoring a flagged lead whose tier stays rewrites no row of
        crm_lead (crm_lead carries some thirty indexes, every one written for a moved row)."""
        lead = self._create_lead(expected_revenue=60000)
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        lead.write({'description': 'Called back, still interested'})
        self.assertTrue(lead.score_dirty)
        self.env.flush_all()

        def row_version():
            return self.env.execute_query(SQL('SELECT xmin::text, ctid::text FROM crm_lead WHERE id = %s', lead.id))

        before = row_version()
        self.env['crm.lead']._score_leads(lead.ids, 'lead')
        self.assertFalse(lead.score_dirty)
        self.assertEqual(row_version(), before)
        self.assertFalse(self.env['crm.lead'].search([('id', '=', lead.id), ('score_dirty', '=', True)]))
        self.assertEqual(self.env['crm.lead'].search([('id', '=', lead.id), ('score_dirty', '=', False)]), lead)

    def test_history_and_chatter_record_tier_moves(self):
        lead = self._create_lead(expected_revenue=60000)
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        lead.write({'function': 'CEO', 'phone': '+1 555 0102'})
        self.env['crm.lead']._score_leads(lead.ids, 'lead')
        last = lead.score_history_ids[0]
        self.assertRecordValues(last, [{
            'old_score': 40, 'new_score': 80, 'score_delta': 40, 'old_tier_id': self.tier_c.id,
            'new_tier_id': self.tier_a.id, 'tier_changed': True, 'cause': 'lead',
        }])
        tracking = lead.message_ids.tracking_value_ids.filtered(lambda value: value.field_id.name == 'tier_id')
        self.assertEqual(len(tracking), 2, 'none -> Lukewarm, then Lukewarm -> Hot')
        latest = tracking.sorted('id')[-1]
        self.assertEqual((latest.old_value_char, latest.new_value_char), ('Lukewarm', 'Hot'))
        self.assertEqual(latest.mail_message_id.subtype_id, self.env.ref('mail.mt_note'))
        self.assertEqual(latest.mail_message_id.model, 'crm.lead')

    def test_score_change_without_tier_move_logs_history_only(self):
        lead = self._create_lead(function='CEO')
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        tier_tracking = lead.message_ids.tracking_value_ids.filtered(lambda value: value.field_id.name == 'tier_id')
        lead.phone = '+1 555 0103'
        self.env['crm.lead']._score_leads(lead.ids, 'lead')
        self.assertEqual((lead.score, lead.tier_id), (40, self.tier_c))
        self.assertEqual(
            lead.message_ids.tracking_value_ids.filtered(lambda value: value.field_id.name == 'tier_id'),
            tier_tracking, 'no tier tracking for a score-only change')
        self.assertEqual(lead.score_history_ids[0].new_score, 40)

    @users('user_sales_salesman')
    def test_form_save_scores_at_once(self):
        with Form(self.env['crm.lead'].with_context(default_type='opportunity')) as form:
            form.name = 'Form lead'
            form.function = 'CEO'
            form.expected_revenue = 90000
        lead = form.record
        self.assertFalse(lead.score_dirty)
        self.assertEqual((lead.score, lead.tier_id), (70, self.tier_b))
        with Form(lead) as form:
            form.phone = '+1 555 0104'
        self.assertEqual((lead.score, lead.tier_id), (80, self.tier_a))
        self.assertEqual(lead.score_history_ids[0].cause, 'user')
        self.assertEqual(lead.score_history_ids[0].user_id, self.env.user)

    @users('user_sales_salesman')
    def test_form_save_waits_for_the_job_when_set_to_batch(self):
        self.env['ir.config_parameter'].sudo().set_param('lead_intelligence.score_on_save', 'batch')
        with Form(self.env['crm.lead']) as form:
            form.name = 'Batch lead'
            form.function = 'CEO'
        self.assertTrue(form.record.score_dirty)
        self.assertFalse(form.record.tier_id)

    def test_plain_write_does_not_score_at_once(self):
        lead = self._create_lead(function='CEO')
        self.assertTrue(lead.score_dirty)
        self.assertFalse(lead.score)

    def test_server_action_scores_a_small_selection_now(self):
        leads = self._create_lead(function='CEO') + self._create_lead(expected_revenue=55000)
        action = self.env.ref('lead_intelligence.action_server_recompute_score').with_context(
            active_model='crm.lead', active_ids=leads.ids).run()
        self.assertEqual(action['params']['type'], 'success')
        self.assertEqual(leads.mapped('score'), [30, 40])
        self.assertEqual(leads.score_history_ids.mapped('cause'), ['manual', 'manual'])

    def test_server_action_queues_a_large_selection(self):
        self.env['ir.config_parameter'].sudo().set_param('lead_intelligence.chunk_size', 2)
        leads = self.env['crm.lead'].create([{'name': f'Lead {i}', 'function': 'CEO'} for i in range(3)])
        self.env['crm.lead']._score_leads(leads.ids, 'manual')
        self.rule_ceo.points = 25
        with self.capture_triggers('lead_intelligence.ir_cron_rescore_dirty_leads') as capture:
            leads.action_recompute_score()
        self.assertEqual(len(capture.records), 1)
        self.assertTrue(all(leads.mapped('score_dirty')))
        self.assertEqual(set(leads.mapped('score')), {30}, 'queued, not scored yet')
        with self._mock_commit_progress():
            self.env['crm.lead']._cron_rescore_dirty_leads()
        self.assertEqual(set(leads.mapped('score')), {25})

    def test_full_pass_resumes_after_a_kill(self):
        self.env['ir.config_parameter'].sudo().set_param('lead_intelligence.chunk_size', 2)
        leads = self.env['crm.lead'].create([{'name': f'Lead {i}', 'function': 'CEO'} for i in range(5)])
        self.env['crm.lead.score.run'].search([]).unlink()

        calls = []

        def killed_after_first_chunk(cron, processed=0, remaining=None, deactivate=False):
            if processed:
                calls.append(processed)
            if len(calls) == 1:
                raise KeyboardInterrupt('worker killed while committing its first chunk')
            return float('inf')

        # no assertRaises: it would roll back what the first chunk "committed"
        with patch.object(type(self.env['ir.cron']), '_commit_progress', killed_after_first_chunk):
            killed = False
            try:
                self.env['crm.lead']._cron_rescore_all_leads()
            except KeyboardInterrupt:
                killed = True
            self.assertTrue(killed, 'the worker was not killed')
        run = self.env['crm.lead.score.run'].search([])
        self.assertEqual(run.state, 'running')
        done, not_done = leads.filtered(lambda lead: lead.id <= run.last_lead_id), \
            leads.filtered(lambda lead: lead.id > run.last_lead_id)
        self.assertTrue(done and not_done, 'killed half-way')
        self.assertEqual(set(done.mapped('score')), {30})
        self.assertTrue(all(not_done.mapped('score_dirty')), 'the rest is still to do')
        with self._mock_commit_progress():
            self.env['crm.lead']._cron_rescore_all_leads()
        self.assertEqual(run.state, 'done')
        self.assertEqual(self.env['crm.lead.score.run'].search([]), run, 'the interrupted run was resumed')
        self.assertEqual(set(leads.mapped('score')), {30})
        self.assertFalse(any(leads.mapped('score_dirty')))

    def test_full_pass_skips_closed_leads(self):
        won = self._create_lead(function='CEO')
        won.action_set_won()
        self.env['crm.lead']._score_leads(won.ids, 'manual')
        self.rule_ceo.points = 10
        with self._mock_commit_progress():
            self.env['crm.lead']._cron_rescore_all_leads()
        self.assertEqual(won.score, 30, 'a closed lead keeps the score it was closed with')

    def test_explanation_lists_matched_rules(self):
        lead = self._create_lead(function='Student CEO', expected_revenue=60000)
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        explanation = str(lead.score_explanation)
        expected = ('Big deal', 'CEO or 总经理', 'Student', '+40', '+30', '-20', 'Fit points', '+50', 'Warm', 'Linear')
        for text in expected:
            self.assertIn(text, explanation)
        self.assertNotIn('Phone given', explanation)
        lead.phone = '+1 555 0105'
        self.assertIn('rescored within seconds', str(lead.score_explanation))

    def test_explanation_warns_while_a_configuration_pass_is_pending(self):
        lead = self._create_lead(function='CEO')
        with self._mock_commit_progress():
            self.env['crm.lead']._cron_rescore_all_leads()  # the pass pending since set-up
        self.assertNotIn('configuration changed', str(lead.score_explanation))
        self.rule_ceo.points = 35
        lead.invalidate_recordset(['score_explanation'])
        self.assertIn('configuration changed', str(lead.score_explanation))
        with self._mock_commit_progress():
            self.env['crm.lead']._cron_rescore_all_leads()
        self.assertNotIn('configuration changed', str(lead.score_explanation))
        self.assertEqual(lead.score, 35)

    def test_form_shows_the_tier_strategy(self):
        self.tier_c.description = 'Nurture with case studies.'
        lead = self._create_lead(function='CEO')
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.assertEqual(lead.tier_description, 'Nurture with case studies.')

    def test_explanation_of_a_new_record(self):
        lead = self.env['crm.lead'].new({'name': 'Draft'})
        self.assertIn('No profile-fit rule matches', str(lead.score_explanation))

    def test_score_history_action(self):
        lead = self._create_lead(function='CEO')
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        action = lead.action_open_score_history()
        self.assertEqual(self.env['crm.lead.score.history'].search(action['domain']), lead.score_history_ids)

    @users('user_sales_manager')
    def test_scores_beside_the_lead_search_sort_and_aggregate(self):
        leads = (self._create_lead(function='CEO') + self._create_lead(expected_revenue=90000, function='CEO')
                 + self._create_lead(expected_revenue=90000))
        self.env['crm.lead']._score_leads(leads.ids, 'manual')
        domain = [('id', 'in', leads.ids)]
        Lead = self.env['crm.lead']
        self.assertEqual(Lead.search(domain, order='score desc').mapped('score'), [70, 40, 30])
        self.assertEqual(Lead.search([*domain, ('score', '>=', 40)]), leads[1:])
        self.assertEqual(Lead.search([*domain, ('fit_score', '<', 35)]), leads[0])
        groups = dict(Lead._read_group(domain, ['tier_id'], ['score:avg']))
        self.assertEqual(groups, {self.tier_c: 35, self.tier_b: 70})
        self.assertEqual(
            self.env['crm.lead.score'].sudo().search_count([('lead_id', 'in', leads.ids)]), 3,
            'one score row per lead')
