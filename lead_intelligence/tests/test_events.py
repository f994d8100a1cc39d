from datetime import datetime, timedelta

import numpy as np
import psycopg2
from freezegun import freeze_time

from odoo.tests import tagged
from odoo.tools import SQL, mute_logger

from .common import TestLeadIntelligenceCommon

NOW = datetime(2026, 11, 24, 12, 0, 0)


def decayed(points, age_days, half_life):
    return points * 0.5 ** (age_days / half_life) if half_life else points


class TestBehaviourCommon(TestLeadIntelligenceCommon):
    """Leads scored half on fit, half on behaviour, with the event types shipped in data/."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        params = cls.env['ir.config_parameter'].sudo()
        params.set_param('lead_intelligence.weight_fit', 50)
        params.set_param('lead_intelligence.weight_engagement', 50)
        params.set_param('lead_intelligence.engagement_points_high', 100)
        params.set_param('lead_intelligence.burst_count', 20)
        params.set_param('lead_intelligence.burst_seconds', 10)
        params.set_param('lead_intelligence.min_dwell', 5)
        cls.Event = cls.env['crm.lead.event']
        cls.type_download = cls.env.ref('lead_intelligence.event_type_download')
        cls.type_visit = cls.env.ref('lead_intelligence.event_type_visit')

    def _send(self, lead, code, when, external_id, **values):
        """Log one event as the API does; return its result."""
        return self.Event._ingest([{
            'type': code, 'occurred_at': when.isoformat() + 'Z', 'lead_id': lead.id, 'external_id': external_id,
            **values}])[0]

    def _count(self):
        with self._mock_commit_progress():
            self.Event._cron_count_events()
        self.env.invalidate_all()

    def _states(self, lead):
        return sorted(self.Event.search([('lead_id', '=', lead.id)]).mapped(
            lambda event: (event.external_id, event.state, event.filter_reason or '')))


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestEventCounting(TestBehaviourCommon):

    @freeze_time(NOW)
    def test_events_feed_counters_engagement_and_score(self):
        lead = self._create_lead(function='CEO')  # fit 30
        for code, hours, external_id, value in [
            ('visit', 1, 'v1', 60), ('time_on_site', 1, 't1', 600), ('download', 2, 'd1', None),
            ('demo_request', 3, 'r1', None), ('email_open', 5, 'o1', None),
        ]:
            result = self._send(lead, code, NOW - timedelta(hours=hours), external_id,
                                **({'value': value} if value is not None else {}))
            self.assertEqual(result['status'], 'accepted', result)
        self.assertEqual(set(self.Event.search([('lead_id', '=', lead.id)]).mapped('state')), {'pending'})
        self._count()
        self.assertEqual(
            (lead.visit_count, lead.time_on_site, lead.download_count, lead.buying_signal_count,
             lead.email_open_count, lead.call_count),
            (1, 600, 1, 1, 1, 0))
        self.assertEqual(lead.last_engagement_date, NOW - timedelta(hours=1))
        points = (decayed(2, 1 / 24, 14) + decayed(0.5 * 10, 1 / 24, 14) + decayed(8, 2 / 24, 30)
                  + decayed(30, 3 / 24, 60) + decayed(1, 5 / 24, 14))
        self.assertEqual(lead.engagement_score, round(points))
        self.assertEqual(lead.score, int(0.5 * 30 + 0.5 * points + 0.5))
        self.assertEqual(set(self.Event.search([('lead_id', '=', lead.id)]).mapped('state')), {'counted'})
        history = lead.score_history_ids[0]
        self.assertEqual((history.cause, history.new_engagement_score), ('event', lead.engagement_score))
        # the explanation lists each type's decayed points and how the score adds up
        explanation = str(lead.score_explanation)
        self.assertIn('Demo request', explanation)
        self.assertIn('%+.1f' % decayed(30, 3 / 24, 60), explanation)
        self.assertIn('engagement score of %s / 100' % lead.engagement_score, explanation)

    @freeze_time(NOW)
    def test_sending_or_counting_twice_counts_once(self):
        lead = self._create_lead()
        batch = [{'type': 'download', 'occurred_at': '2026-11-24T10:00:00Z', 'lead_id': lead.id,
                  'external_id': f'dl-{i}'} for i in range(3)]
        self.assertEqual([r['status'] for r in self.Event._ingest(batch)], ['accepted'] * 3)
        self.assertEqual([r['status'] for r in self.Event._ingest(batch)], ['duplicate'] * 3)
        logged = self.Event.search([('lead_id', '=', lead.id)])
        self.assertEqual(self.Event.search([('lead_id', '=', lead.id), ('state', '=', 'pending')]), logged)
        self._count()
        self.assertEqual(self.Event.search([('lead_id', '=', lead.id), ('state', 'in', ['counted'])]), logged)
        self.assertFalse(self.Event.search([('lead_id', '=', lead.id), ('state', '!=', 'counted')]))
        self._count()
        self.assertEqual(lead.download_count, 3)
        self.assertEqual(self.Event.search_count([('lead_id', '=', lead.id)]), 3)

    @freeze_time(NOW)
    def test_chunks_hold_a_bounded_number_of_events(self):
        leads = self._create_lead() | self._create_lead() | self._create_lead()
        for lead in leads:
            for i in range(2):
                self._send(lead, 'download', NOW - timedelta(minutes=i), f'chunk-{lead.id}-{i}')
        self.env['ir.config_parameter'].sudo().set_param('lead_intelligence.event_chunk_size', 5)
        with self._mock_commit_progress() as commits:
            self.Event._cron_count_events()
        self.assertEqual(commits, [0, 4, 2, 0], 'two leads (4 events) fit in 5, the third waits for the next chunk')
        self.assertEqual(leads.mapped('download_count'), [2, 2, 2])

    def test_batches_wake_the_counting_job_once(self):
        cron = self.env.ref('lead_intelligence.ir_cron_count_events')
        Trigger = self.env['ir.cron.trigger']
        Trigger.search([('cron_id', '=', cron.id)]).unlink()
        lead = self._create_lead()
        for batch in range(3):
            self._send(lead, 'download', datetime.now() - timedelta(hours=1), f'wake-{batch}')
        self.assertEqual(Trigger.search_count([('cron_id', '=', cron.id)]), 1)

    @freeze_time(NOW)
    def test_daily_cap_counts_across_runs_and_resets_each_day(self):
        lead = self._create_lead()
        day = NOW.replace(hour=8)
        for i in range(3):
            self._send(lead, 'download', day + timedelta(minutes=i), f'a{i}')
        self._count()
        self.assertEqual(lead.download_count, 3)
        for i in range(4):
            self._send(lead, 'download', day + timedelta(minutes=10 + i), f'b{i}')
        self._send(lead, 'download', day - timedelta(days=1), 'yesterday')
        self._count()
        self.assertEqual(lead.download_count, 6, 'a cap of 5 that day, plus one the day before')
        self.assertEqual([state for _id, *state in self._states(lead) if state[1]],
                         [['filtered', 'cap'], ['filtered', 'cap']])
        self.assertEqual(lead.filtered_event_count, 2)
        self.assertIn('Daily cap reached: 2', lead.filtered_event_summary)

    @freeze_time(NOW)
    def test_bursts_bots_and_short_visits_are_kept_but_not_counted(self):
        lead = self._create_lead()
        self.env.ref('lead_intelligence.event_type_key_page').daily_cap = 0
        for i in range(25):
            self._send(lead, 'key_page', NOW - timedelta(seconds=30 - i * 0.2), f'k{i:02d}')
        self.assertEqual(self._send(lead, 'visit', NOW - timedelta(hours=2), 'bot', value=40,
                                    user_agent='Mozilla/5.0 (compatible; bingbot/2.0)')['status'], 'accepted')
        self._send(lead, 'visit', NOW - timedelta(hours=3), 'short', value=2)
        self._send(lead, 'visit', NOW - timedelta(hours=4), 'real', value=90)
        self._count()
        states = {external_id: (state, reason) for external_id, state, reason in self._states(lead)}
        self.assertEqual([states[f'k{i:02d}'][1] for i in range(25)], [''] * 19 + ['burst'] * 6)
        self.assertEqual(states['bot'], ('filtered', 'bot'))
        self.assertEqual(states['short'], ('filtered', 'dwell'))
        self.assertEqual(states['real'], ('counted', ''))
        self.assertEqual((lead.key_page_count, lead.visit_count), (19, 1))
        self.assertEqual(lead.filtered_event_count, 8)
        self.assertIn('kept out of the score', str(lead.score_explanation))

    def test_decay_needs_only_the_stored_state(self):
        with freeze_time(NOW):
            lead = self._create_lead(function='CEO')
            self._send(lead, 'demo_request', NOW, 'r1')
            self._send(lead, 'download', NOW, 'd1')
            self._count()
            self.assertEqual(lead.engagement_score, 38)
        # the log may be archived away: decay reads crm_lead_engagement only
        self.env.execute_query(SQL('DELETE FROM crm_lead_event WHERE lead_id = %s', lead.id))
        self.env['crm.lead.score.run'].search([]).write({'state': 'done'})  # a new nightly pass
        with freeze_time(NOW + timedelta(days=60)), self._mock_commit_progress():
            self.env['crm.lead']._cron_rescore_all_leads()
            self.env.invalidate_all()
            # demo request: half-life 60 days; download: 30 days, two half-lives
            self.assertEqual(lead.engagement_score, round(30 / 2 + 8 / 4))
            self.assertEqual(lead.score, int(0.5 * 30 + 0.5 * 17 + 0.5))
            self.assertEqual(lead.score_history_ids[0].cause, 'nightly')

    def test_nightly_decay_records_tier_moves_only(self):
        with freeze_time(NOW):
            lead = self._create_lead()
            self._send(lead, 'download', NOW, 'd1')
            self._count()
            self.assertEqual((lead.engagement_score, lead.score, lead.tier_id), (8, 4, self.tier_d))
            history = lead.score_history_ids
        self.env['crm.lead.score.run'].search([]).write({'state': 'done'})
        with freeze_time(NOW + timedelta(days=10)), self._mock_commit_progress():
            self.env['crm.lead']._cron_rescore_all_leads()
            self.env.invalidate_all()
            self.assertEqual((lead.engagement_score, lead.score), (round(decayed(8, 10, 30)), 3))
            self.assertEqual(lead.score_history_ids, history, 'a point of decay is no news')

    def test_a_pass_reads_the_engagement_of_its_own_leads_only(self):
        """A chunk's engagement is read by its id range: the closed lead inside the range is not
        among its leads, and its engagement goes to none of them."""
        with freeze_time(NOW):
            first, closed, last = (self._create_lead(name=name) for name in ('First', 'Closed', 'Last'))
            self._send(first, 'download', NOW, 'f1')
            for index in range(5):
                self._send(closed, 'demo_request', NOW, f'c{index}')
            self._count()
            closed.action_set_lost()
            Lead = self.env['crm.lead']
            config = Lead._get_scoring_config()
            ids = np.array([first.id, last.id])
            rows = Lead._read_engagement_rows(ids, config)
            self.assertEqual(ids[rows.lead_index].tolist(), [first.id])
            self.assertEqual(Lead._read_engagement(ids, config).round().tolist(), [8, 0])
            # the same leads spread over a wide range of ids are read by their list
            far = np.array([first.id, last.id + 10 ** 6])
            self.assertEqual(far[Lead._read_engagement_rows(far, config).lead_index].tolist(), [first.id])

    def test_late_events_fold_in_as_if_sent_in_order(self):
        with freeze_time(NOW):
            lead = self._create_lead()
            self._send(lead, 'download', NOW - timedelta(days=1), 'recent')
            self._count()
            self._send(lead, 'download', NOW - timedelta(days=30), 'imported-late')
            self._count()
            expected = decayed(8, 1, 30) + decayed(8, 30, 30)
            self.assertEqual(lead.engagement_score, round(expected))
            state = self.env['crm.lead.engagement'].search([('lead_id', '=', lead.id)])
            self.assertEqual(state.ref_date, NOW - timedelta(days=1))

    @freeze_time(NOW)
    def test_type_points_and_half_life_changes_apply_to_past_events(self):
        lead = self._create_lead()
        self._send(lead, 'download', NOW - timedelta(days=30), 'old')
        self._count()
        self.assertEqual(lead.engagement_score, 4)
        self.type_download.write({'points': 20})
        with self._mock_commit_progress():
            self.env['crm.lead']._cron_rescore_all_leads()
        self.env.invalidate_all()
        self.assertEqual(lead.engagement_score, 10)
        # a new half-life rebuilds the decayed sums from the log
        self.type_download.write({'half_life': 0})
        with self._mock_commit_progress():
            self.env['crm.lead']._cron_rescore_all_leads()
        self.env.invalidate_all()
        self.assertEqual(lead.engagement_score, 20)

    @freeze_time(NOW)
    def test_archived_type_keeps_its_log_but_scores_nothing(self):
        lead = self._create_lead()
        self._send(lead, 'download', NOW, 'd1')
        self._count()
        self.assertEqual(lead.engagement_score, 8)
        self.type_download.action_archive()
        with self._mock_commit_progress():
            self.env['crm.lead']._cron_rescore_all_leads()
        self.env.invalidate_all()
        self.assertEqual((lead.engagement_score, lead.download_count), (0, 1))
        self.assertEqual(self._send(lead, 'download', NOW, 'd2')['status'], 'rejected')

    def test_event_type_validation(self):
        with self.assertRefused('lower case letters'):
            self.env['crm.lead.event.type'].create({'name': 'Bad', 'code': 'Demo Request'})
        with self.assertRefused('half-life'):
            self.type_download.half_life = -1
        with mute_logger('odoo.sql_db'), self.assertRaises(psycopg2.errors.UniqueViolation), self.env.cr.savepoint():
            self.env['crm.lead.event.type'].create({'name': 'Again', 'code': 'download'})

    @freeze_time(NOW)
    def test_merged_leads_bring_their_behaviour(self):
        kept = self._create_lead(expected_revenue=90000, partner_name='Big Co')
        merged = self._create_lead()
        self._send(kept, 'download', NOW - timedelta(hours=1), 'kept-1')
        self._send(merged, 'download', NOW - timedelta(hours=2), 'merged-1')
        self._send(merged, 'visit', NOW - timedelta(hours=3), 'merged-short', value=1)
        self._count()
        self.assertEqual((kept.download_count, merged.download_count), (1, 1))
        result = (kept | merged)._merge_opportunity(max_length=None)
        self.assertEqual(result, kept)
        self._count()
        self.assertEqual(self.Event.search([('external_id', 'like', 'merged-')]).lead_id, kept)
        self.assertEqual((kept.download_count, kept.filtered_event_count), (2, 1))
        self.assertEqual(kept.engagement_score, round(decayed(8, 1 / 24, 30) + decayed(8, 2 / 24, 30)))

    @freeze_time(NOW)
    def test_emails_are_matched_as_odoo_normalises_them(self):
        lead = self._create_lead(email_from='"Anna Li" <Anna.Li@Northwind.example>')
        results = self.Event._ingest([
            {'type': 'download', 'occurred_at': '2026-11-24T10:00:00Z', 'email': 'Anna Li <ANNA.LI@northwind.example>',
             'external_id': 'named'},
            {'type': 'download', 'occurred_at': '2026-11-24T10:00:00Z', 'email': 'anna@@northwind',
             'external_id': 'broken'}])
        self.assertEqual([result['status'] for result in results], ['accepted', 'rejected'])
        self.assertIn('not a valid email', results[1]['reason'])
        self.assertEqual(self.Event.search([('external_id', '=', 'named')]).lead_id, lead)

    @freeze_time(NOW)
    def test_a_buying_signal_type_feeds_the_buying_signals_too(self):
        self.env['crm.lead.event.type'].create({
            'name': 'Trial started', 'code': 'trial', 'counter_field': 'form_count', 'points': 25,
            'is_buying_signal': True})
        lead = self._create_lead()
        self._send(lead, 'trial', NOW, 't1')
        self._send(lead, 'quote_request', NOW, 'q1')
        self._count()
        self.assertEqual((lead.form_count, lead.buying_signal_count), (1, 2))

    def test_bounces_are_counted_but_are_no_engagement(self):
        bounce = self.env['crm.lead.event.type'].create({
            'name': 'Bounce', 'code': 'test_bounce', 'points': -5, 'half_life': 30})
        with freeze_time(NOW):
            lead = self._create_lead()
            self._send(lead, 'download', NOW - timedelta(days=2), 'd1')
            self._send(lead, bounce.code, NOW, 'b1')
            self._count()
            self.assertEqual(lead.last_engagement_date, NOW - timedelta(days=2))
            self.assertEqual(lead.engagement_score, round(decayed(8, 2, 30) - 5))

    @freeze_time(NOW)
    def test_the_log_is_append_only(self):
        lead = self._create_lead()
        self._send(lead, 'download', NOW, 'd1')
        event = self.Event.search([('external_id', '=', 'd1')])
        with self.assertRaisesRegex(Exception, 'cannot be changed'):
            event.write({'value': 3})


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestEventImport(TestBehaviourCommon):

    IMPORT_FIELDS = ['lead_id/.id', 'type_id', 'occurred_at', 'external_id', 'value']

    @freeze_time(NOW)
    def test_csv_import_is_validated_and_idempotent(self):
        lead = self._create_lead()
        rows = [
            [str(lead.id), 'download', '2026-11-20 10:00:00', 'crm-export-1', ''],
            [str(lead.id), 'Website visit', '2026-11-21 10:00:00', 'crm-export-2', '120'],
            [str(lead.id), 'Website visit', '2026-11-21 11:00:00', 'crm-export-3', '1'],
        ]
        result = self.Event.load(self.IMPORT_FIELDS, rows)
        self.assertFalse(result['messages'], result['messages'])
        self.assertEqual(len(result['ids']), 3)
        events = self.Event.browse(result['ids'])
        self.assertEqual(events.mapped('source'), ['import'] * 3)
        self.assertEqual(events.mapped('state'), ['pending', 'pending', 'filtered'])
        # the same file again: nothing new
        again = self.Event.load(self.IMPORT_FIELDS, rows)
        self.assertFalse(again['messages'])
        self.assertEqual(sorted(again['ids']), sorted(result['ids']))
        self.assertEqual(self.Event.search_count([('lead_id', '=', lead.id)]), 3)
        self._count()
        self.assertEqual((lead.download_count, lead.visit_count), (1, 1))

    @freeze_time(NOW)
    def test_bad_import_says_why_and_logs_nothing(self):
        lead = self._create_lead()
        result = self.Event.load(self.IMPORT_FIELDS, [
            [str(lead.id), 'download', '2026-11-20 10:00:00', 'ok-1', ''],
            [str(lead.id), 'download', '2031-01-01 10:00:00', 'future-1', ''],
        ])
        self.assertFalse(result['ids'])
        self.assertIn('in the future', ' '.join(message['message'] for message in result['messages']))
        self.assertFalse(self.Event.search([('lead_id', '=', lead.id)]))
        result = self.Event.load(self.IMPORT_FIELDS, [[str(lead.id), 'teleport', '2026-11-20 10:00:00', 'x', '']])
        self.assertFalse(result['ids'])
        self.assertTrue(result['messages'])


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestOdooSources(TestBehaviourCommon):

    def _events(self, lead):
        return self.Event.search([('lead_id', '=', lead.id)])

    def test_incoming_email_reply_counts_once(self):
        lead = self._create_lead(email_from='buyer@customer.example')
        customer = self.env['res.partner'].create({'name': 'Buyer', 'email': 'buyer@customer.example'})
        first = lead.message_post(body='Our offer', message_type='comment', subtype_xmlid='mail.mt_comment')
        self.assertFalse(self._events(lead), 'a message of ours is not behaviour of the lead')
        reply = lead.message_post(body='Sounds good', message_type='email', author_id=customer.id,
                                  parent_id=first.id, subtype_xmlid='mail.mt_comment')
        events = self._events(lead)
        self.assertEqual((events.type_id.code, events.source, events.external_id),
                         ('email_reply', 'mail', f'mail.message-{reply.id}'))
        self._count()
        self.assertEqual(lead.email_reply_count, 1)

    def test_done_call_activity_counts_once(self):
        lead = self._create_lead()
        call = lead.activity_schedule('mail.mail_activity_data_call', user_id=self.env.uid)
        todo = lead.activity_schedule('mail.mail_activity_data_todo', user_id=self.env.uid)
        self.assertFalse(self._events(lead), 'a planned call is not a call')
        (call | todo).action_feedback(feedback='Talked to the buyer')
        events = self._events(lead)
        self.assertEqual((events.type_id.code, events.source, events.external_id),
                         ('call', 'activity', f'mail.activity-{call.id}'))
        self._count()
        self.assertEqual(lead.call_count, 1)

    @freeze_time(NOW)
    def test_meetings_held_count_once_per_lead(self):
        partner = self.env['res.partner'].create({'name': 'Attendee Co', 'email': 'ceo@attendee.example'})
        lead = self._create_lead(partner_id=partner.id)
        other = self._create_lead()
        Calendar = self.env['calendar.event']
        held = Calendar.create({'name': 'Demo', 'start': NOW - timedelta(hours=3), 'stop': NOW - timedelta(hours=2),
                                'opportunity_id': other.id, 'partner_ids': [(4, partner.id)]})
        Calendar.create({'name': 'Next week', 'start': NOW + timedelta(days=7),
                         'stop': NOW + timedelta(days=7, hours=1), 'opportunity_id': lead.id})
        self.assertEqual(Calendar._cron_log_lead_meetings(), 2, 'the opportunity, and the lead of an attendee')
        self.assertEqual(Calendar._cron_log_lead_meetings(), 0, 'rerunning adds nothing')
        self.assertEqual(self._events(lead).external_id, f'calendar.event-{held.id}-lead-{lead.id}')
        self.assertEqual(self._events(other).occurred_at, NOW - timedelta(hours=2))
        held.write({'stop': NOW - timedelta(hours=1)})
        with freeze_time(NOW + timedelta(days=8)):
            self.assertEqual(Calendar._cron_log_lead_meetings(), 1, "next week's meeting, now held")
        self._count()
        self.assertEqual((lead.meeting_count, other.meeting_count), (2, 1))


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestEventViews(TestBehaviourCommon):

    def test_views_load(self):
        for model in ('crm.lead.event', 'crm.lead.event.type'):
            for view_type in ('list', 'form', 'search'):
                self.env[model].get_views([(False, view_type)])
        self.env['crm.lead.event'].get_views([(False, 'pivot')])
        for xmlid in ('lead_intelligence.crm_lead_event_action', 'lead_intelligence.crm_lead_event_type_action'):
            action = self.env.ref(xmlid)
            self.env[action.res_model].get_views([(False, mode) for mode in action.view_mode.split(',')])

    @freeze_time(NOW)
    def test_lead_form_shows_the_timeline(self):
        lead = self._create_lead()
        self._send(lead, 'download', NOW, 'd1')
        self._send(lead, 'visit', NOW - timedelta(hours=1), 'v1', value=1)
        self._count()
        form_data = lead.web_read({'event_ids': {'fields': {'type_id': {}, 'state': {}, 'filter_reason': {}}},
                                   'filtered_event_count': {}, 'visit_count': {}})[0]
        self.assertEqual([(row['state'], row['filter_reason']) for row in form_data['event_ids']],
                         [('counted', False), ('filtered', 'dwell')], 'newest first')
        self.assertEqual(form_data['filtered_event_count'], 1)


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestSettledScores(TestBehaviourCommon):
    """At night, with every rule stable, the pass scores only the leads whose scores may have moved:
    the leads flagged, and those whose engagement's decay may have moved a rounded score."""

    def _settled_until(self, lead):
        self.env.flush_all()
        return self.env.execute_query(SQL('SELECT settled_until FROM crm_lead_score WHERE lead_id = %s', lead.id))[0][0]

    def test_nightly_pass_scores_only_the_leads_whose_scores_may_move(self):
        Lead = self.env['crm.lead']
        with freeze_time(NOW):
            engaged, quiet = self._create_lead(name='Engaged', function='CEO'), self._create_lead(name='Quiet')
            for index in range(5):
                self._send(engaged, 'download', NOW, f'd{index}')
            self._count()
            self.assertEqual(engaged.engagement_score, 40)
            config = Lead._get_scoring_config()
            self.assertEqual(len(config.stable), len(config.rules))
            self.assertTrue(Lead._classify_stable_stage() and Lead._classify_stable_stage(after_score=True))
            self._scored_full_pass()
            scored, run = self._scored_full_pass()
            self.assertIn(engaged.id, scored, 'a pass of unknown settled times reads every open lead')
            self.assertEqual(run.settled_key, config.settled_key)
        # 40 points of a 30-day half-life: the engagement rounds to 39 below 39.5 points, after
        # 30 * log2(40 / 39.5) days (the score, blended half and half, moves later)
        due = NOW + timedelta(days=30 * np.log2(40 / 39.5))
        until = datetime.utcfromtimestamp(self._settled_until(engaged))
        self.assertAlmostEqual(until, due, delta=timedelta(seconds=2))
        self.assertEqual(self._settled_until(quiet), 2 ** 53, 'without engagement, its scores hold for ever')
        before = (engaged.score, engaged.engagement_score, engaged.tier_id, engaged.score_date)

        with freeze_time(due - timedelta(minutes=1)):
            scored, run = self._scored_full_pass()
            self.assertEqual((scored, run.leads_done), ([], 0), 'no lead flagged, no score can have moved')
            quiet.function = 'Student'
            self.assertTrue(quiet.score_dirty)
            scored, _run = self._scored_full_pass()
            self.assertEqual(scored, [quiet.id], 'the flagged lead alone')
            self.assertEqual((engaged.score, engaged.engagement_score, engaged.tier_id, engaged.score_date), before)
            # what the pass left is what scoring the lead now gives
            self.assertEqual(Lead._score_leads(engaged.ids, 'manual'), 0)
            self.env.invalidate_all()
            self.assertEqual(engaged.engagement_score, 40)
        with freeze_time(due + timedelta(minutes=1)):
            scored, _run = self._scored_full_pass()
            self.assertEqual(scored, [engaged.id], 'its time has come')
            self.assertEqual(engaged.engagement_score, 39)
            self.assertGreater(self._settled_until(engaged), (due - NOW).total_seconds() + NOW.timestamp())
            scored, _run = self._scored_full_pass()
            self.assertEqual(scored, [], 'and it holds again')

    def test_a_configuration_change_reads_every_lead_again(self):
        """The settled times hold for the configuration they were found with: a change of the blend
        that no full pass followed yet (set by SQL here) makes the next nightly pass read every lead."""
        Lead = self.env['crm.lead']
        with freeze_time(NOW):
            leads = self._create_lead(name='One') | self._create_lead(name='Two')
            self._scored_full_pass()
            self._scored_full_pass()
            self.assertEqual(self._scored_full_pass()[0], [])
            self.env['ir.config_parameter'].sudo().set_param('lead_intelligence.weight_fit', 60)
            self.env['crm.lead.score.run'].search([('state', 'in', ('running', 'failed'))]).unlink()
            scored, run = self._scored_full_pass()
            self.assertEqual(run.cause, 'nightly')
            self.assertTrue(set(leads.ids) <= set(scored))
            self.assertEqual(run.settled_key, Lead._get_scoring_config().settled_key)

    def test_a_lead_whose_trend_baseline_moved_is_read(self):
        """A row of a lead's score history that passed the start of the trend window since the last
        pass moves its trend's baseline: the pass reads that lead, though nothing else of it moved."""
        with freeze_time(NOW):
            quiet = self._create_lead(name='Quiet')
            self._scored_full_pass()
            self._scored_full_pass()
            self.assertEqual(self._scored_full_pass()[0], [])
        self.env.flush_all()
        logged = self.env.execute_query(SQL(
            'SELECT max(date) FROM crm_lead_score_history WHERE lead_id = %s', quiet.id))[0][0]
        self.assertTrue(logged)
        # the transaction's time, which the history and the trend window read: the window (14 days) has
        # moved past the lead's history row
        transaction_now = self.env.cr.now()
        self.env.cr._now = logged + timedelta(days=14, hours=1)
        try:
            with freeze_time(NOW):
                scored, _run = self._scored_full_pass()
        finally:
            self.env.cr._now = transaction_now
        self.assertIn(quiet.id, scored)
