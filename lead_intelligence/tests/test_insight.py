import ast
from datetime import timedelta
from unittest.mock import patch

from lxml import etree

from odoo.tests import tagged
from odoo.tools import SQL

from ..models.writes import crm_lead_score as score_writes
from .common import TestLeadIntelligenceCommon

# Big deal (+40), CEO (+30), phone (+10): fit scores 80 (Hot), 70 (Warm), 40 (Lukewarm), 10 (Cold)
HOT = {'expected_revenue': 80000, 'function': 'CEO', 'phone': '+1 555'}
WARM = {'expected_revenue': 80000, 'function': 'CEO'}
COLD = {'phone': '+1 555'}


class ScoredLeadsCase(TestLeadIntelligenceCommon):

    def _scored(self, **values):
        """A new lead, scored."""
        lead = self._create_lead(**values)
        self._rescore(lead)
        return lead

    def _rescore(self, leads, **values):
        """Write ``values`` on ``leads``, then score them."""
        leads.write(values)
        self.env['crm.lead']._score_leads(leads.ids, 'manual')


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestScoreTrend(ScoredLeadsCase):

    def _add_history(self, lead, days_ago, old_score, new_score):
        """A score change of ``lead`` ``days_ago`` days back, as the pass records it."""
        self.env.flush_all()
        self.env.execute_query(SQL(
            """INSERT INTO crm_lead_score_history (lead_id, date, cause, old_score, new_score, score_delta)
               VALUES (%s, now() at time zone 'UTC' - make_interval(days => %s), 'lead', %s, %s, 0)""",
            lead.id, days_ago, old_score, new_score))

    def _set_window(self, days):
        self.env['ir.config_parameter'].sudo().set_param('lead_intelligence.trend_window_days', days)

    def test_trend_compares_the_score_with_the_start_of_the_window(self):
        self._set_window(14)
        up, down, flat, young = (self._scored(**WARM) for _index in range(4))
        self._add_history(up, 20, None, 40)
        self._add_history(down, 30, None, 95)
        self._add_history(down, 20, 95, 90)
        self._add_history(flat, 20, None, 67)
        # young: scored once, when it was created, within the window: nothing to compare with yet
        leads = up + down + flat + young
        self.env['crm.lead']._score_leads(leads.ids, 'manual')
        self.assertEqual(leads.mapped('score'), [70] * 4)
        self.assertEqual(leads.mapped('score_trend'), ['improving', 'declining', 'steady', 'steady'])
        self.assertEqual(self.env['crm.lead'].search([('id', 'in', leads.ids), ('score_trend', '=', 'declining')]),
                         down, 'the trend is stored: filters and group-bys use it')

    def test_trend_follows_the_window_setting(self):
        lead = self._scored(**WARM)
        self._add_history(lead, 40, None, 30)
        self._add_history(lead, 20, 30, 70)
        self._set_window(30)
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.assertEqual(lead.score_trend, 'improving', '30 days ago it scored 30')
        self._set_window(10)
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.assertEqual(lead.score_trend, 'steady', '10 days ago it already scored 70')

    def test_trend_of_a_score_that_changes_in_the_window(self):
        self._set_window(14)
        lead = self._scored(**HOT)
        self._add_history(lead, 20, None, 80)
        self._rescore(lead, expected_revenue=0, function=False)  # fit 10 now
        self.assertEqual(lead.score, 10)
        self.assertEqual(lead.score_trend, 'declining')

    def test_trend_of_a_lead_without_history_starts_from_its_old_score(self):
        """The pass reads the trend before it writes the history: the row it is about to write (the
        first of a lead without history) counts, from the score the lead had."""
        self._set_window(14)
        lead = self._scored(**COLD)
        self.assertEqual(lead.score, 10)
        self.env.flush_all()
        self.env.cr.execute("DELETE FROM crm_lead_score_history WHERE lead_id = %s", [lead.id])
        self._rescore(lead, **HOT)
        self.assertEqual((lead.score, lead.score_trend), (80, 'improving'))
        self.assertEqual(lead.score_history_ids.mapped('old_score'), [10])

    def test_trends_are_written_with_the_scores(self):
        """One write of the scores row: the trends of the leads rescored go in it, not in an update
        of their own."""
        self._set_window(14)
        up, flat = self._scored(**COLD), self._scored(**COLD)
        self._add_history(up, 20, None, 10)
        self._add_history(flat, 20, None, 80)
        with patch.object(score_writes, 'set_score_trends', wraps=score_writes.set_score_trends) as alone:
            self._rescore(up + flat, **HOT)
        self.assertFalse(alone.called)
        self.assertEqual((up + flat).mapped('score_trend'), ['improving', 'steady'])

    def test_nightly_pass_sets_the_trends_that_can_have_moved(self):
        self._set_window(14)
        lead, still = self._scored(**WARM), self._scored(**WARM)
        with self._mock_commit_progress():
            self.env['crm.lead']._cron_rescore_all_leads()
        # as the pass of two days ago left them: 40 at the window's start (16 days ago), 70 now
        self._add_history(lead, 20, None, 40)
        self._add_history(lead, 15, 40, 70)
        self.env.cr.execute("UPDATE crm_lead_score SET score_trend = 'improving' WHERE lead_id IN %s",
                            [(lead.id, still.id)])
        run = self.env['crm.lead.score.run'].search([('state', '=', 'done')])
        run.write({'date_start': self.env.cr.now() - timedelta(days=2), 'trend_window_days': 14})
        with self._mock_commit_progress():
            self.env['crm.lead']._cron_rescore_all_leads()
        self.env.invalidate_all()
        # the window's start passed the change to 70: steady now, though no score of it changed
        self.assertEqual((lead.score, lead.score_trend), (70, 'steady'))
        self.assertEqual(still.score_trend, 'improving', 'nothing of it moved: its trend is not read again')
        # another window: every trend is set again
        self._set_window(30)
        with self._mock_commit_progress():
            self.env['crm.lead']._cron_rescore_all_leads()
        self.env.invalidate_all()
        self.assertEqual((lead.score_trend, still.score_trend), ('improving', 'steady'))

    def _stored_baselines(self, leads):
        self.env.flush_all()
        return self.env.execute_query(SQL(
            """SELECT trend_baseline, trend_start IS NOT NULL FROM crm_lead_score
                WHERE lead_id = ANY(%s) ORDER BY lead_id""", leads.ids))

    def test_full_pass_keeps_the_baselines_it_read(self):
        """A full pass keeps each lead's score at the window's start beside its scores; the next
        reads it there rather than in the history, for the leads none of whose history rows the
        start passed since."""
        self._set_window(14)
        lead = self._scored(**WARM)
        self._add_history(lead, 20, None, 95)
        with self._mock_commit_progress():
            self.env['crm.lead']._cron_rescore_all_leads()
        self.assertEqual(self._stored_baselines(lead), [(95, True)])
        self.assertEqual(lead.score_trend, 'declining')
        # the history the baseline came from is gone: only the kept baseline says 95
        self.env.cr.execute("DELETE FROM crm_lead_score_history WHERE lead_id = %s AND date < %s",
                            [lead.id, self.env.cr.now() - timedelta(days=14)])
        run = self.env['crm.lead.score.run'].search([('state', '=', 'done')])
        run.write({'date_start': self.env.cr.now() - timedelta(days=1), 'trend_window_days': 14})
        lead.write({'phone': '+1 555'})  # 80 now
        with self._mock_commit_progress():
            self.env['crm.lead']._cron_rescore_all_leads()
        self.env.invalidate_all()
        self.assertEqual((lead.score, lead.score_trend), (80, 'declining'),
                         'from the kept 95, not the 70 of the history')
        self.assertEqual(self._stored_baselines(lead), [(95, True)])
        # another pass reads the history, and keeps no baseline
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.assertEqual(self._stored_baselines(lead), [(None, False)])
        self.env.invalidate_all()
        self.assertEqual(lead.score_trend, 'improving', 'the history says 70 at the start now')

    def test_window_setting_is_checked(self):
        settings = self.env['res.config.settings'].create({})
        with self.assertRefused('at least one day'):
            settings.lead_intelligence_trend_window_days = 0
            settings.flush_recordset()

    def test_timeline_and_first_history_row(self):
        lead = self._scored(**COLD)
        self._rescore(lead, expected_revenue=80000)
        self.assertEqual([score for _date, score in lead.score_timeline], [10, 50])
        first, second = lead.score_history_ids.sorted('id')
        self.assertEqual(first.old_score_display, 'none', 'the first score came from none, not 0')
        self.assertEqual(second.old_score_display, '10')


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestScoreReasons(ScoredLeadsCase):

    def test_reasons_name_the_tier_the_trend_and_the_top_rules(self):
        lead = self._scored(**HOT)
        reasons = lead.get_score_reasons()
        self.assertEqual((reasons['score'], reasons['tier']), (80, 'Hot'))
        self.assertEqual([(row['name'], row['points']) for row in reasons['fit']],
                         [('Big deal', 40), ('CEO or 总经理', 30), ('Phone given', 10)])
        self.assertEqual((reasons['behaviour'], reasons['model']), ([], []))
        self.assertEqual((reasons['trend'], reasons['trend_label']), ('steady', 'Steady'))

    def test_reasons_keep_the_largest_effects(self):
        self.env['crm.lead.fit.rule'].create({
            'name': 'Student again', 'domain': "[('function', 'ilike', 'stud')]", 'points': -35, 'sequence': 5})
        lead = self._scored(expected_revenue=80000, function='Student', phone='+1 555')
        names = [row['name'] for row in lead.get_score_reasons()['fit']]
        self.assertEqual(names, ['Big deal', 'Student again', 'Student'], 'the three largest, by size of effect')

    def test_reasons_of_behaviour(self):
        params = self.env['ir.config_parameter'].sudo()
        params.set_param('lead_intelligence.weight_engagement', 50)
        lead = self._scored(**WARM)
        yesterday = (lead.create_date - timedelta(days=1)).isoformat() + 'Z'
        self.env['crm.lead.event']._ingest([
            {'type': 'email_open', 'occurred_at': yesterday, 'lead_id': lead.id, 'external_id': 'reason-1'},
            {'type': 'demo_request', 'occurred_at': yesterday, 'lead_id': lead.id, 'external_id': 'reason-2'},
        ])
        self.env['crm.lead.event']._count_chunk(lead.ids, self.env['crm.lead']._get_scoring_config())
        behaviour = lead.get_score_reasons()['behaviour']
        demo, email_open = (self.env.ref(f'lead_intelligence.event_type_{code}')
                            for code in ('demo_request', 'email_open'))
        self.assertEqual([row['name'] for row in behaviour], [demo.name, email_open.name], 'the largest first')
        self.assertGreater(behaviour[0]['points'], behaviour[1]['points'])


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestTierFilters(ScoredLeadsCase):

    def _filters(self, view_ref='crm.view_crm_case_opportunities_filter'):
        view = self.env.ref(view_ref)
        arch = etree.fromstring(self.env['crm.lead'].get_views([(view.id, 'search')])['views']['search']['arch'])
        return {node.get('string'): node.get('domain') for node in arch.iter('filter')
                if (node.get('name') or '').startswith('lead_intelligence_tier_')}

    def test_one_filter_per_tier_in_rank_order(self):
        for view_ref in ('crm.view_crm_case_opportunities_filter', 'crm.view_crm_case_leads_filter'):
            filters = self._filters(view_ref)
            self.assertEqual(list(filters), ['Tier Hot (75+)', 'Tier Warm (50+)', 'Tier Lukewarm (30+)',
                                             'Tier Cold (0+)'])
            self.assertEqual(filters['Tier Warm (50+)'], str([('tier_id', 'in', self.tier_b.ids)]))
        arch = self.env['crm.lead'].get_views([(False, 'search')])['views']['search']['arch']
        self.assertNotIn('score_high', arch, 'no fixed score range any more')

    def test_filters_follow_the_tiers(self):
        self._filters()  # cached
        self.tier_a.write({'name': 'Blazing', 'min_score': 80})
        self.env['crm.lead.tier'].create({'name': 'Tepid', 'min_score': 40, 'sequence': 25})
        self.assertEqual(list(self._filters()), ['Tier Blazing (80+)', 'Tier Warm (50+)', 'Tier Tepid (40+)',
                                                 'Tier Lukewarm (30+)', 'Tier Cold (0+)'])
        self.tier_c.action_archive()
        self.assertNotIn('Tier Lukewarm (30+)', self._filters())

    def test_filter_labels_are_translated(self):
        self.env['res.lang']._activate_lang('zh_CN')
        self.tier_b.with_context(lang='zh_CN').name = '温'
        filters = self.env['crm.lead'].with_context(lang='zh_CN').get_views(
            [(self.env.ref('crm.view_crm_case_opportunities_filter').id, 'search')])['views']['search']['arch']
        self.assertIn('温', filters)
        self.assertIn('Tier Warm (50+)', self._filters())

    def test_filters_select_the_tiers_leads(self):
        hot, warm = self._scored(**HOT), self._scored(**WARM)
        domain = ast.literal_eval(self._filters()['Tier Hot (75+)'])
        self.assertEqual(self.env['crm.lead'].search([*domain, ('id', 'in', (hot + warm).ids)]), hot)

    def test_my_leads_by_tier_shows_my_open_leads(self):
        action = self.env.ref('lead_intelligence.crm_lead_action_my_by_tier')
        self.assertIn('search_default_assigned_to_me', action.context)
        self.assertIn('search_default_filter_won_status_pending', action.context)
        by_tier = self.env.ref('lead_intelligence.crm_lead_action_by_tier')
        self.assertIn('search_default_filter_won_status_pending', by_tier.context)
        list_view = by_tier.view_ids.filtered(lambda view: view.view_mode == 'list').view_id
        self.assertIn('default_order="score desc', self.env['crm.lead'].get_views(
            [(list_view.id, 'list')])['views']['list']['arch'])


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestHotLeadAlert(ScoredLeadsCase):

    def _alerts(self, lead):
        activities = self.env['mail.activity'].search([('res_model', '=', 'crm.lead'), ('res_id', '=', lead.id),
                                                       ('summary', 'like', 'Hot lead')])
        notes = self.env['mail.message'].search([('model', '=', 'crm.lead'), ('res_id', '=', lead.id),
                                                 ('body', 'like', 'Hot lead')])
        return activities, notes

    def test_alert_once_per_entry(self):
        lead = self._scored(user_id=self.user_sales_salesman.id, **HOT)
        activities, notes = self._alerts(lead)
        self.assertEqual(activities.user_id, self.user_sales_salesman)
        self.assertEqual(len(notes), 1)
        self.assertEqual(notes.notification_ids.res_partner_id, self.user_sales_salesman.partner_id,
                         'the salesperson finds it in their inbox')
        self._rescore(lead, name='Still hot')
        self.assertEqual(len(self._alerts(lead)[0]), 1, 'no second alert while it stays')
        self._rescore(lead, expected_revenue=0)  # 40: out
        self._rescore(lead, expected_revenue=80000)  # 80: back in
        activities, notes = self._alerts(lead)
        self.assertEqual((len(activities), len(notes)), (2, 2), 'again after leaving and coming back')

    def test_unassigned_lead_alerts_the_team_leader(self):
        lead = self._scored(user_id=False, **HOT)
        self.assertEqual(self._alerts(lead)[0].user_id, self.sales_team_1.user_id)

    def test_lower_tier_alerts_only_when_flagged(self):
        lead = self._scored(user_id=self.user_sales_salesman.id, **WARM)
        self.assertFalse(self._alerts(lead)[0], 'Warm is not the top tier')
        self.tier_b.notify = True
        other = self._scored(user_id=self.user_sales_salesman.id, **WARM)
        self.assertEqual(len(self._alerts(other)[0]), 1)

    def _move_to_hot(self, count):
        """Leads scored Cold, their fields then made Hot by SQL: the number of queries of the pass moving them."""
        leads = self.env['crm.lead'].create([
            {'name': f'Bulk {index}', 'user_id': self.user_sales_salesman.id, 'team_id': self.sales_team_1.id}
            for index in range(count)])
        self.env.flush_all()
        self.env.execute_query(SQL("UPDATE crm_lead SET expected_revenue = 80000, function = 'CEO', phone = '+1' "
                                   "WHERE id = ANY(%s)", leads.ids))
        self.env.invalidate_all()
        before = self.env.cr.sql_log_count
        self.env['crm.lead']._score_leads(leads.ids, 'manual')
        queries = self.env.cr.sql_log_count - before
        self.assertEqual(set(leads.mapped('tier_id')), {self.tier_a})
        self.assertEqual(self.env['mail.activity'].search_count([
            ('res_model', '=', 'crm.lead'), ('res_id', 'in', leads.ids), ('summary', 'like', 'Hot lead')]), count)
        return queries

    def test_alerts_in_bulk(self):
        self._move_to_hot(1)  # warm the caches
        self.assertEqual(self._move_to_hot(3), self._move_to_hot(12), 'as many queries for 12 leads as for 3')

    def test_closed_leads_do_not_alert(self):
        lead = self._scored(user_id=self.user_sales_salesman.id, **WARM)
        lead.action_set_won()
        self._rescore(lead, phone='+1 555')
        self.assertFalse(self._alerts(lead)[0])

