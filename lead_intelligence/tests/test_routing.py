import threading
import uuid
from contextlib import closing, contextmanager
from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo import SUPERUSER_ID, api, sql_db
from odoo.exceptions import AccessError
from odoo.orm.environments import Transaction
from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL, mute_logger

from ..models import bulk
from .common import TestLeadIntelligenceCommon
from odoo.addons.mail.tests.common import mail_new_test_user

# a Monday, 16:00 UTC
MONDAY_4PM = datetime(2026, 1, 5, 16, 0)


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestRoutingCommon(TestLeadIntelligenceCommon):
    """A routing team of three salespeople under one rule routing the Hot and Warm tiers."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.industry_tech, cls.industry_food = cls.env['res.partner.industry'].create(
            [{'name': 'Routing Tech'}, {'name': 'Routing Food'}])
        cls.belgium = cls.env.ref('base.be')
        cls.alice, cls.bob, cls.carol = (
            mail_new_test_user(cls.env, login=f'routing_{name}', name=name.title(),
                               groups='sales_team.group_sale_salesman')
            for name in ('alice', 'bob', 'carol'))
        cls.team = cls.env['crm.team'].create({
            'name': 'Routing Team', 'user_id': cls.user_sales_manager.id, 'use_leads': True,
            'use_opportunities': True,
        })
        cls.member_alice, cls.member_bob, cls.member_carol = cls.env['crm.team.member'].create([
            {'crm_team_id': cls.team.id, 'user_id': user.id} for user in (cls.alice, cls.bob, cls.carol)])
        cls._set_capacity(cls.member_alice + cls.member_bob + cls.member_carol, cls.tier_a, 10)
        cls._set_capacity(cls.member_alice + cls.member_bob + cls.member_carol, cls.tier_b, 10)
        cls.member_alice.skill_industry_ids = cls.industry_tech
        cls.member_bob.skill_country_ids = cls.belgium
        cls.tier_a.write({'sla_hours': 2, 'followup_activity_type_id': cls.env.ref('mail.mail_activity_data_call').id})
        cls.rule = cls.env['crm.lead.routing.rule'].create({
            'name': 'Hot and warm', 'tier_ids': [(6, 0, (cls.tier_a + cls.tier_b).ids)], 'team_id': cls.team.id,
            'match_all': True,
        })

    @classmethod
    def _set_capacity(cls, members, tier, max_open_leads):
        Capacity = cls.env['crm.team.member.capacity']
        for member in members:
            line = member.capacity_ids.filtered(lambda line: line.tier_id == tier)
            if line:
                line.max_open_leads = max_open_leads
            else:
                Capacity.create({'member_id': member.id, 'tier_id': tier.id, 'max_open_leads': max_open_leads})

    def _hot_leads(self, count=1, **values):
        """Leads scoring 80 (Hot), scored: waiting for routing."""
        leads = self.env['crm.lead'].create([{
            'name': f'Hot {index}', 'function': 'CEO', 'expected_revenue': 90000 + index, 'phone': '+32 2 000',
            'user_id': False, **values} for index in range(count)])
        self.env['crm.lead']._score_leads(leads.ids, 'manual')
        return leads

    def _route(self):
        with self._mock_commit_progress():
            self.env['crm.lead']._cron_route_leads()
        self.env.invalidate_all()

    def _check_sla(self):
        with self._mock_commit_progress():
            self.env['crm.lead']._cron_check_sla()
        self.env.invalidate_all()


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestRouting(TestRoutingCommon):

    def test_a_new_tier_queues_the_lead_and_the_job_routes_it_by_skill(self):
        lead = self._hot_leads(industry_id=self.industry_tech.id)
        self.assertEqual(lead.tier_id, self.tier_a)
        self.assertEqual(lead.routing_state, 'to_route')
        self._route()
        self.assertEqual((lead.routing_state, lead.user_id, lead.team_id, lead.routing_rule_id),
                         ('routed', self.alice, self.team, self.rule))
        self.assertTrue(lead.routed_date)
        self.assertIn('industry', lead.routing_reason)
        self.assertIn('Alice', lead.routing_explanation)
        history = lead.routing_history_ids
        self.assertEqual((history.kind, history.to_user_id, history.rule_id), ('assign', self.alice, self.rule))
        # in the chatter, with the salesperson's change tracked
        note = lead.message_ids.filtered(
            lambda message: 'user_id' in message.tracking_value_ids.field_id.mapped('name'))
        self.assertEqual(len(note), 1)
        self.assertIn('Routed to Alice', note.body)
        self.assertEqual(note.tracking_value_ids.new_value_integer, self.alice.id)
        self.assertIn(self.alice.partner_id, lead.message_partner_ids)
        activity = lead.activity_ids
        self.assertEqual((activity.user_id, activity.activity_type_id),
                         (self.alice, self.env.ref('mail.mail_activity_data_call')))
        self.assertEqual(self.rule.routed_count, 1)

    def test_best_skill_match_then_least_loaded_then_member_id(self):
        belgian = self._hot_leads(country_id=self.belgium.id)
        self._route()
        self.assertEqual(belgian.user_id, self.bob, 'the country skill wins')
        # no skill matches: the least loaded (bob holds one), ties to the first member
        leads = self._hot_leads(3)
        self._route()
        self.assertEqual([lead.user_id for lead in leads], [self.alice, self.carol, self.alice])

    def test_a_content_topic_skill_wins_among_equal_members(self):
        warehouse, robots = self.env['crm.lead.topic'].create([
            {'name': 'Routing Warehouse', 'url_patterns': '/warehouse*'},
            {'name': 'Routing Robots', 'url_patterns': '/robots*'}])
        self.member_carol.skill_topic_ids = warehouse
        reader, other = self._hot_leads(2)
        # the top topics, as the pass writes them
        self.env.cr.execute('INSERT INTO crm_lead_topic_rel (lead_id, topic_id) VALUES (%s, %s), (%s, %s)',
                            [reader.id, warehouse.id, other.id, robots.id])
        self._route()
        self.assertEqual(reader.user_id, self.carol, 'the topic skill wins over the member order')
        self.assertIn('Skills matched: content topics (1 of 5)', reader.routing_reason)
        # a topic no one knows prefers no one: the least loaded, then the first member
        self.assertEqual(other.user_id, self.alice)
        self.assertIn('Skills matched: none', other.routing_reason)

    def test_capacity_limits_are_exact_and_count_the_open_leads_held(self):
        self._set_capacity(self.member_alice, self.tier_a, 2)
        self._set_capacity(self.member_bob, self.tier_a, 1)
        self.member_carol.capacity_ids.filtered(lambda line: line.tier_id == self.tier_a).unlink()
        held = self._hot_leads(name='Held by hand')
        held.write({'user_id': self.alice.id, 'team_id': self.team.id})
        self.assertEqual(held.routing_state, 'manual')
        leads = self._hot_leads(5)
        self._route()
        self.assertEqual(len(leads.filtered(lambda lead: lead.user_id == self.alice)), 1)
        self.assertEqual(len(leads.filtered(lambda lead: lead.user_id == self.bob)), 1)
        self.assertFalse(leads.filtered(lambda lead: lead.user_id == self.carol))
        unroutable = leads.filtered(lambda lead: lead.routing_state == 'unroutable')
        self.assertEqual(len(unroutable), 3)
        self.assertFalse(unroutable.user_id)
        self.assertIn('at capacity', unroutable[0].routing_reason)
        self.assertEqual(self.member_alice.capacity_ids.filtered(
            lambda line: line.tier_id == self.tier_a).open_lead_count, 2)

    def test_unavailable_members_get_nothing(self):
        self.member_alice.assignment_optout = True
        self.member_bob.routing_paused = True
        self.member_carol.out_of_office_until = datetime.now().date() + timedelta(days=1)
        leads = self._hot_leads(2)
        self._route()
        self.assertEqual(leads.mapped('routing_state'), ['unroutable'] * 2)
        self.assertFalse(leads.user_id)
        self.assertIn('paused', leads[0].routing_reason)
        self.assertEqual(leads.routing_history_ids.mapped('kind'), ['unroutable'] * 2)
        # back from leave yesterday: available again; the unroutable leads wait for routing again
        self.member_carol.out_of_office_until = datetime.now().date() - timedelta(days=1)
        self.assertEqual(leads.mapped('routing_state'), ['to_route'] * 2)
        self._route()
        self.assertEqual(leads.user_id, self.carol)

    def test_the_first_matching_rule_routes(self):
        dave = mail_new_test_user(self.env, login='routing_dave', name='Dave', groups='sales_team.group_sale_salesman')
        benelux = self.env['crm.team'].create({'name': 'Benelux', 'crm_team_member_ids': [(0, 0, {
            'user_id': dave.id, 'capacity_ids': [(0, 0, {'tier_id': self.tier_a.id, 'max_open_leads': 5})]})]})
        benelux_rule = self.env['crm.lead.routing.rule'].create({
            'name': 'Benelux hot', 'sequence': 1, 'tier_ids': [(6, 0, self.tier_a.ids)], 'team_id': benelux.id,
            'domain': f"[('country_id', '=', {self.belgium.id})]",
        })
        belgian, other = self._hot_leads(2)
        belgian.country_id = self.belgium
        self.env['crm.lead']._score_leads((belgian + other).ids, 'manual')
        self._route()
        self.assertEqual((belgian.user_id, belgian.team_id, belgian.routing_rule_id), (dave, benelux, benelux_rule))
        self.assertEqual(other.routing_rule_id, self.rule)
        self.assertIn(other.user_id, self.alice + self.bob + self.carol)

    def test_a_company_rule_routes_only_its_company_leads(self):
        self.rule.company_id = self.env['res.company'].create({'name': 'Routing elsewhere'})
        lead = self._hot_leads(company_id=self.env.company.id)
        self._route()
        self.assertEqual((lead.routing_state, lead.user_id.id), ('unroutable', False))
        self.assertIn('No routing rule', lead.routing_reason)

    def test_weighted_round_robin(self):
        self.rule.method = 'round_robin'
        self._set_capacity(self.member_alice, self.tier_a, 20)
        leads = self._hot_leads(8)
        self._route()
        received = {user: len(leads.filtered(lambda lead, user=user: lead.user_id == user))
                    for user in (self.alice, self.bob, self.carol)}
        self.assertEqual(received, {self.alice: 4, self.bob: 2, self.carol: 2})
        # the next run takes up the turns where this one left them
        more = self._hot_leads(4)
        self._route()
        self.assertEqual(sorted(more.user_id.ids), sorted((self.alice + self.bob + self.carol).ids))

    def test_the_same_input_gives_the_same_assignment(self):
        leads = self._hot_leads(6, industry_id=self.industry_food.id)
        leads[:2].write({'country_id': self.belgium.id})
        self.env['crm.lead']._score_leads(leads.ids, 'manual')
        self._route()
        first = leads.mapped('user_id.id')
        self.env.execute_query(SQL(
            "UPDATE crm_lead SET user_id = NULL, routing_state = 'to_route' WHERE id = ANY(%s)", leads.ids))
        self.env.invalidate_all()
        self._route()
        self.assertEqual(leads.mapped('user_id.id'), first)

    def test_a_manual_owner_keeps_the_lead(self):
        lead = self._hot_leads()
        lead.user_id = self.carol
        self.assertEqual(lead.routing_state, 'manual')
        self._route()
        self.assertEqual(lead.user_id, self.carol)
        # a later tier move does not route it either
        lead.write({'expected_revenue': 0})
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.assertEqual((lead.tier_id, lead.routing_state), (self.tier_c, 'manual'))

    def test_a_routed_lead_not_yet_contacted_is_routed_again_when_its_tier_moves(self):
        lead = self._hot_leads()
        self._route()
        self.assertEqual(lead.routing_state, 'routed')
        first_owner = lead.user_id
        self.assertEqual(lead.activity_ids.user_id, first_owner)
        lead.write({'function': 'Owner'})  # 50 points: Warm
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.assertEqual((lead.tier_id, lead.routing_state), (self.tier_b, 'to_route'))
        self.tier_b.followup_activity_type_id = self.env.ref('mail.mail_activity_data_email')
        self.team.crm_team_member_ids.filtered(lambda member: member.user_id == first_owner).routing_paused = True
        self._route()
        self.assertNotEqual(lead.user_id, first_owner)
        self.assertEqual(lead.routing_history_ids.sorted('id').mapped('kind'), ['assign', 'assign'])
        self.assertEqual((lead.activity_ids.user_id, lead.activity_ids.activity_type_id),
                         (lead.user_id, self.env.ref('mail.mail_activity_data_email')),
                         "the first owner's follow-up is gone")

    def test_nurtured_tier_gets_a_tag_and_no_salesperson(self):
        tag = self.env['crm.tag'].create({'name': 'Nurture me'})
        self.tier_c.write({'nurture': True, 'nurture_tag_id': tag.id})
        lead = self.env['crm.lead'].create({'name': 'Lukewarm', 'function': 'CEO', 'phone': '+32 2 000',
                                            'user_id': False})
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.assertEqual((lead.tier_id, lead.routing_state), (self.tier_c, 'to_route'))
        self._route()
        self.assertEqual(lead.routing_state, 'nurtured')
        self.assertFalse(lead.user_id)
        self.assertIn(tag, lead.tag_ids)
        self.assertEqual(lead.routing_history_ids.kind, 'nurture')

    def test_route_leads_server_action_on_a_selection(self):
        leads = self._hot_leads(2)
        cold = self.env['crm.lead'].create({'name': 'Cold', 'user_id': False})
        self.env['crm.lead']._score_leads(cold.ids, 'manual')
        action = (leads + cold).action_route_leads()
        self.assertIn('2 of 3', action['params']['message'])
        self.assertEqual(leads.mapped('routing_state'), ['routed'] * 2)
        self.assertEqual(cold.routing_state, 'unroutable', 'no rule routes the Cold tier')
        self.assertIn('No routing rule', cold.routing_reason)

    def test_only_sales_managers_route_and_only_leads_they_may_write(self):
        held = self._hot_leads(2)
        held.write({'user_id': self.carol.id})
        self.assertEqual(held.mapped('routing_state'), ['manual'] * 2)
        company_b = self.env['res.company'].create({'name': 'Routing Company B'})
        salesman_b, manager_b = (
            mail_new_test_user(self.env, login=f'routing_b_{group}', company_id=company_b.id,
                               company_ids=[(6, 0, company_b.ids)], groups=f'sales_team.group_sale_{group}')
            for group in ('salesman_all_leads', 'manager'))
        for user in (salesman_b, manager_b, self.carol):
            with self.subTest(user=user.login), self.assertRaises(AccessError), \
                    mute_logger('odoo.addons.base.models.ir_rule'):
                held.with_user(user).action_route_leads()
        self.assertEqual(held.mapped('routing_state'), ['manual'] * 2, 'not queued for the routing job either')
        self.assertEqual(held.user_id, self.carol)
        held.with_user(self.user_sales_manager).action_route_leads()
        self.assertEqual(held.mapped('routing_state'), ['routed'] * 2)

    def test_the_job_commits_chunk_by_chunk(self):
        self.env['ir.config_parameter'].set_param('lead_intelligence.routing_chunk_size', 2)
        leads = self._hot_leads(5)
        with self._mock_commit_progress() as commits:
            self.env['crm.lead']._cron_route_leads()
        self.assertEqual(commits, [0, 2, 2, 1, 0], 'progress reported (and committed) after each chunk')
        self.env.invalidate_all()
        self.assertEqual(leads.mapped('routing_state'), ['routed'] * 5)

    def test_a_salesperson_reads_the_routing_of_their_leads(self):
        lead = self._hot_leads(industry_id=self.industry_tech.id)
        self._route()
        lead = lead.with_user(self.alice)
        self.assertIn('Alice', lead.routing_explanation)
        self.assertEqual(lead.routing_history_ids.kind, 'assign')
        report = self.env['crm.lead.routing.report'].with_user(self.alice).search([])
        self.assertEqual(report.lead_id, lead)
        self.assertFalse(self.env['crm.lead.routing.report'].with_user(self.bob).search([]))

    def test_routing_costs_the_same_queries_for_3_or_60_leads(self):
        self._set_capacity(self.member_alice + self.member_bob + self.member_carol, self.tier_a, 100)
        warm_up = self._hot_leads(1)
        self._route()
        self.assertEqual(warm_up.routing_state, 'routed')

        def count_queries(count):
            leads = self._hot_leads(count, industry_id=self.industry_tech.id)
            self.env.flush_all()
            self.env.invalidate_all()
            before = self.cr.sql_log_count
            self._route()
            self.env.flush_all()
            queries = self.cr.sql_log_count - before
            self.assertEqual(leads.mapped('routing_state'), ['routed'] * count)
            self.assertEqual(len(leads.activity_ids), count)
            return queries

        self.assertEqual(count_queries(3), count_queries(60))

    def test_the_forms_show_routing(self):
        for model, view_type, names in (
            ('crm.team.member', 'form', ('skill_company_sizes', 'capacity_ids', 'out_of_office_until')),
            ('crm.lead.tier', 'form', ('sla_hours', 'nurture_tag_id', 'escalation_reassign_hours')),
            ('crm.lead', 'form', ('routing_explanation', 'action_explain_routing', 'sla_status')),
            ('crm.lead.routing.rule', 'form', ('tier_ids', 'member_ids', 'method', 'config_warning')),
            ('crm.lead.routing.report', 'pivot', ('sla_met', 'conversion', 'contact_hours')),
        ):
            arch = self.env[model].get_views([(False, view_type)])['views'][view_type]['arch']
            for name in names:
                self.assertIn(name, arch, f'{name} in the {model} {view_type}')

    def test_why_this_salesperson_dialog(self):
        lead = self._hot_leads()
        self._route()
        action = lead.action_explain_routing()
        self.assertEqual((action['res_id'], action['target']), (lead.id, 'new'))
        view_id = action['views'][0][0]
        arch = self.env['crm.lead'].get_views([(view_id, 'form')])['views']['form']['arch']
        self.assertIn('routing_explanation', arch)
        self.assertIn(lead.routing_history_ids, self.env['crm.lead.routing.history'].search(
            lead.action_open_routing_history()['domain']))


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestRoutingConfiguration(TestRoutingCommon):

    def test_bad_configuration_is_refused_on_save(self):
        Rule = self.env['crm.lead.routing.rule']
        with self.assertRefused('not a valid lead domain'):
            Rule.create({'name': 'Broken', 'tier_ids': [(6, 0, self.tier_a.ids)], 'team_id': self.team.id,
                         'domain': "[('no_such_field', '=', 1)]"})
        empty_team = self.env['crm.team'].create({'name': 'Nobody'})
        with self.assertRefused('no salesperson to route to'):
            Rule.create({'name': 'Empty', 'tier_ids': [(6, 0, self.tier_a.ids)], 'team_id': empty_team.id,
                         'match_all': True})
        self.tier_d.nurture = True
        with self.assertRefused('is nurtured'):
            Rule.create({'name': 'Nurtured', 'tier_ids': [(6, 0, self.tier_d.ids)], 'team_id': self.team.id,
                         'match_all': True})
        with self.assertRefused('cannot be nurtured'):
            self.tier_a.write({'nurture': True, 'sla_hours': 0})
        with self.assertRefused('in order'):
            self.tier_a.write({'escalation_leader_hours': 8, 'escalation_reassign_hours': 4})
        with self.assertRefused('cannot be negative'):
            self.member_alice.capacity_ids[0].max_open_leads = -1

    def test_no_capacity_anywhere_is_reported_and_leaves_leads_unassigned(self):
        self.env['crm.team.member.capacity'].search([('member_id.crm_team_id', '=', self.team.id)]).unlink()
        self.assertIn('capacity', self.rule.config_warning)
        leads = self._hot_leads(3)
        self._route()
        self.assertEqual(leads.mapped('routing_state'), ['unroutable'] * 3)
        self.assertFalse(leads.user_id)
        # capacity given: the leads are routed on the next run, or at once on request
        self._set_capacity(self.member_bob, self.tier_a, 2)
        self.assertEqual(leads.mapped('routing_state'), ['to_route'] * 3)
        action = leads.action_route_leads()
        self.assertIn('2 of 3', action['params']['message'])
        self.assertEqual(leads.user_id, self.bob)

    def test_a_condition_that_no_longer_parses_leaves_its_leads_unroutable(self):
        fallback_rule = self.env['crm.lead.routing.rule'].create({
            'name': 'Fallback', 'sequence': 99, 'tier_ids': [(6, 0, self.tier_a.ids)], 'team_id': self.team.id,
            'match_all': True})
        # a field removed since the rule was saved: refused on save, so broken in SQL
        self.env.execute_query(SQL(
            "UPDATE crm_lead_routing_rule SET domain = %s WHERE id = %s", "[('gone_field', '=', 1)]", self.rule.id))
        self.env.invalidate_all()
        leads = self._hot_leads(2)
        self._route()
        self.assertEqual(leads.mapped('routing_state'), ['unroutable'] * 2)
        self.assertFalse(leads.user_id, 'never routed by the next rule instead')
        self.assertFalse(leads.filtered(lambda lead: lead.routing_rule_id == fallback_rule))
        self.assertIn('cannot be used', leads[0].routing_reason)

    @mute_logger('odoo.sql_db')
    def test_a_condition_failing_in_the_database_is_set_aside_and_the_job_goes_on(self):
        fallback_rule = self.env['crm.lead.routing.rule'].create({
            'name': 'Fallback', 'sequence': 99, 'tier_ids': [(6, 0, self.tier_a.ids)], 'team_id': self.team.id,
            'match_all': True})
        other_team = self.env['crm.team'].create({'name': 'Warm only', 'use_leads': True})
        self.env['crm.team.member'].create({'crm_team_id': other_team.id, 'user_id': self.carol.id})
        self.rule.domain = "[('zip', '!=', '0000')]"
        leads = self._hot_leads(2)
        # a column gone behind the registry's back: the condition parses but fails in PostgreSQL
        self.env.execute_query(SQL('ALTER TABLE crm_lead RENAME COLUMN zip TO zip_gone'))
        self._route()
        self.env.execute_query(SQL('ALTER TABLE crm_lead RENAME COLUMN zip_gone TO zip'))
        self.assertTrue(self.rule.error_message, 'the failing rule is set aside with its error')
        self.assertEqual(leads.mapped('routing_state'), ['unroutable'] * 2)
        self.assertFalse(leads.user_id, 'never routed by the next rule instead')
        self.assertFalse(leads.filtered(lambda lead: lead.routing_rule_id == fallback_rule))
        self.assertIn('cannot be used', leads[0].routing_reason)
        # set aside, it stays out of the next runs without failing them
        more = self._hot_leads(1)
        self._route()
        self.assertEqual(more.routing_state, 'unroutable')
        self.assertIn('cannot be used', more.routing_reason)


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestRoutingSla(TestRoutingCommon):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # 8-12 and 13-17 UTC, Monday to Friday
        cls.calendar = cls.env['resource.calendar'].create({'name': 'Routing UTC', 'tz': 'UTC'})
        cls.env['resource.resource'].create({
            'name': 'Alice', 'user_id': cls.alice.id, 'calendar_id': cls.calendar.id, 'tz': 'UTC'})
        cls.member_alice.skill_industry_ids = cls.industry_tech
        cls.tier_a.write({'escalation_reminder_hours': 0, 'escalation_leader_hours': 2,
                          'escalation_reassign_hours': 4})
        cls.tier_b.write({'sla_hours': 8})

    def _routed_to_alice(self, **values):
        lead = self._hot_leads(industry_id=self.industry_tech.id, **values)
        self._route()
        self.assertEqual(lead.user_id, self.alice)
        return lead

    @freeze_time(MONDAY_4PM)
    def test_sla_deadline_in_working_hours_of_the_owner_else_the_company(self):
        self.assertEqual(self.alice.resource_calendar_id, self.calendar)
        hot = self._routed_to_alice()
        # one hour on Monday until 17:00, one on Tuesday from 08:00
        self.assertEqual(hot.sla_deadline, datetime(2026, 1, 6, 9, 0))
        self.assertEqual(hot.sla_status, 'pending')
        self.assertEqual(hot.activity_ids.date_deadline, datetime(2026, 1, 6).date())
        warm = self.env['crm.lead'].create({'name': 'Warm', 'expected_revenue': 90000, 'phone': '+32 2 000',
                                            'industry_id': self.industry_tech.id, 'user_id': False})
        self.env['crm.lead']._score_leads(warm.ids, 'manual')
        self._route()
        self.assertEqual((warm.tier_id, warm.user_id), (self.tier_b, self.alice))
        # 8 working hours: 1 on Monday, 7 on Tuesday (08-12, 13-16)
        self.assertEqual(warm.sla_deadline, datetime(2026, 1, 6, 16, 0))
        # bob has no schedule of his own: the company's, here in Shanghai (UTC+8)
        self.env.company.resource_calendar_id = self.env['resource.calendar'].create(
            {'name': 'Shanghai office', 'tz': 'Asia/Shanghai'})
        self.member_alice.routing_paused = True
        bobs = self._hot_leads(country_id=self.belgium.id)
        self._route()
        self.assertEqual(bobs.user_id, self.bob)
        # Monday 16:00 UTC is Tuesday 00:00 in Shanghai: 08:00-10:00 there
        self.assertEqual(bobs.sla_deadline, datetime(2026, 1, 6, 2, 0))

    def test_a_first_contact_in_time_meets_the_sla(self):
        with freeze_time(MONDAY_4PM):
            lead = self._routed_to_alice()
        with freeze_time(MONDAY_4PM + timedelta(minutes=30)):
            lead.activity_ids.with_user(self.alice).action_feedback(feedback='Called')
            self._check_sla()
        self.assertEqual(lead.first_contact_date, MONDAY_4PM + timedelta(minutes=30))
        self.assertEqual(lead.sla_status, 'on_time')
        with freeze_time(MONDAY_4PM + timedelta(days=3)):
            self._check_sla()
        self.assertEqual((lead.sla_status, lead.escalation_level), ('on_time', 0), 'no escalation once contacted')
        report = self.env['crm.lead.routing.report'].search([('lead_id', '=', lead.id)])
        self.assertEqual((report.lead_count, report.sla_met, report.contact_hours), (1, 100, 0.5))

    def test_escalation_steps_then_reassignment(self):
        with freeze_time(MONDAY_4PM):
            lead = self._routed_to_alice()
        deadline = lead.sla_deadline
        with freeze_time(deadline - timedelta(minutes=1)):
            self._check_sla()
        self.assertEqual((lead.sla_status, lead.escalation_level), ('pending', 0))
        # a message from the customer is no first contact
        customer = self.env['res.partner'].create({'name': 'Customer', 'email': 'customer@example.com'})
        with freeze_time(deadline - timedelta(minutes=1)):
            lead.message_post(body='Any news?', author_id=customer.id, message_type='comment',
                              subtype_xmlid='mail.mt_comment')
        with freeze_time(deadline + timedelta(minutes=30)):
            self._check_sla()
        self.assertEqual((lead.sla_status, lead.escalation_level), ('breached', 1))
        reminder = lead.routing_history_ids.filtered(lambda history: history.kind == 'escalate_reminder')
        self.assertEqual(reminder.to_user_id, self.alice)
        notified = self.env['mail.notification'].search([
            ('mail_message_id.model', '=', 'crm.lead'), ('mail_message_id.res_id', '=', lead.id),
            ('notification_type', '=', 'inbox')])
        self.assertEqual(notified.res_partner_id, self.alice.partner_id)
        with freeze_time(deadline + timedelta(hours=1)):
            self._check_sla()
        self.assertEqual(lead.escalation_level, 1, 'nothing more before the next step')
        with freeze_time(deadline + timedelta(hours=2, minutes=5)):
            self._check_sla()
        self.assertEqual(lead.escalation_level, 2)
        leader = lead.routing_history_ids.filtered(lambda history: history.kind == 'escalate_leader')
        self.assertEqual(leader.to_user_id, self.user_sales_manager)
        with freeze_time(deadline + timedelta(hours=4, minutes=5)):
            self._check_sla()
        reassigned = lead.routing_history_ids.filtered(lambda history: history.kind == 'reassign')
        self.assertEqual((reassigned.from_user_id, reassigned.to_user_id), (self.alice, lead.user_id))
        self.assertIn(lead.user_id, self.bob + self.carol)
        self.assertEqual((lead.routing_state, lead.escalation_level, lead.sla_status), ('routed', 0, 'pending'))
        self.assertGreater(lead.sla_deadline, deadline + timedelta(hours=4))
        self.assertEqual(lead.activity_ids.user_id, lead.user_id, "the follow-up moved to the new owner")

    def test_reassignment_without_anyone_available_keeps_the_owner(self):
        (self.member_bob + self.member_carol).write({'routing_paused': True})
        with freeze_time(MONDAY_4PM):
            lead = self._routed_to_alice()
        with freeze_time(lead.sla_deadline + timedelta(hours=5)):
            self._check_sla()
        self.assertEqual((lead.user_id, lead.escalation_level), (self.alice, 3))
        failed = lead.routing_history_ids.filtered(lambda history: history.kind == 'unroutable')
        self.assertIn('paused', failed.reason)
        with freeze_time(lead.sla_deadline + timedelta(hours=6)):
            self._check_sla()
        self.assertEqual(lead.routing_history_ids.mapped('kind'), ['unroutable', 'assign'],
                         'straight to the last step reached, and no more once there')


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestRoutingCoexistence(TestRoutingCommon):
    """Odoo's own lead assignment and routing never take the same lead."""

    def test_odoo_assignment_leaves_routed_tiers_alone(self):
        self.sales_team_1.crm_team_member_ids.write({'assignment_max': 30, 'assignment_optout': False})
        ours = self._hot_leads(2)
        cold = self.env['crm.lead'].create({'name': 'Cold, for Odoo', 'user_id': False})
        self.env['crm.lead']._score_leads(cold.ids, 'manual')
        (ours + cold).write({'team_id': False})
        ours.invalidate_recordset()
        self.assertEqual(ours.mapped('routing_state'), ['to_route'] * 2)
        self.assertFalse(cold.routing_state)
        self.env['crm.team'].search([])._action_assign_leads(force_quota=True, creation_delta_days=0)
        self.assertFalse(ours.team_id, "Odoo's allocation did not take them")
        self.assertFalse(ours.user_id)
        self.assertTrue(cold.team_id and cold.user_id, "Odoo assigned the lead routing does not handle")
        self._route()
        self.assertEqual(ours.team_id, self.team)
        owners = ours.mapped('user_id')
        self.env['crm.team'].search([])._action_assign_leads(force_quota=True, creation_delta_days=0)
        self.assertEqual(ours.mapped('user_id'), owners)
        self.assertEqual(ours.mapped('routing_state'), ['routed'] * 2)

    def test_member_assignment_skips_unroutable_leads_of_its_team(self):
        self.env['crm.team.member.capacity'].search([('member_id.crm_team_id', '=', self.team.id)]).unlink()
        lead = self._hot_leads()
        lead.team_id = self.team
        self._route()
        self.assertEqual(lead.routing_state, 'unroutable')
        self.team.crm_team_member_ids.write({'assignment_max': 30})
        self.team._action_assign_leads(force_quota=True, creation_delta_days=0)
        self.assertFalse(lead.user_id, 'flagged, never assigned at random')


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestRoutingConcurrency(TransactionCase):
    """Two workers routing at once, each in its own real transaction: no lead routed twice,
    no capacity exceeded. As in test_concurrency, everything is committed and removed after."""

    @contextmanager
    def _worker(self):
        with closing(sql_db.db_connect(self.env.cr.dbname).cursor()) as cr:
            cr.execute("SET lock_timeout = '10s'")
            # the registry given, not looked up: the lookup waits for the lock the test runner holds
            cr.transaction = Transaction(self.registry)
            yield api.Environment(cr, SUPERUSER_ID, {})

    def _setup(self):
        """Two salespeople (capacity 2 and 1 for a tier) and six leads of that tier to route."""
        with self._worker() as env:
            suffix = uuid.uuid4().hex[:8]
            users = env['res.users'].create([
                {'name': f'Concurrent {name}', 'login': f'routing_concurrent_{name}_{suffix}'} for name in 'ab'])
            tier = env['crm.lead.tier'].search([], order='min_score desc', limit=1)
            team = env['crm.team'].create({'name': f'Concurrent routing {suffix}', 'crm_team_member_ids': [
                (0, 0, {'user_id': user.id, 'capacity_ids': [(0, 0, {'tier_id': tier.id, 'max_open_leads': cap})]})
                for user, cap in zip(users, (2, 1), strict=True)]})
            rule = env['crm.lead.routing.rule'].create({
                'name': 'Concurrent', 'sequence': -1, 'tier_ids': [(6, 0, tier.ids)], 'team_id': team.id,
                'match_all': True})
            leads = env['crm.lead'].create([{'name': f'Routed once {i}', 'user_id': False} for i in range(6)])
            env.flush_all()
            env.cr.execute(SQL("UPDATE crm_lead SET tier_id = %s, routing_state = 'to_route' WHERE id = ANY(%s)",
                               tier.id, leads.ids))
            env.cr.commit()
            ids = {'users': users.ids, 'team': team.id, 'rule': rule.id, 'leads': leads.ids}
        self.addCleanup(self._cleanup, ids)
        return ids

    def _cleanup(self, ids):
        with self._worker() as env:
            env.cr.execute(SQL("DELETE FROM mail_message WHERE model = 'crm.lead' AND res_id = ANY(%s)", ids['leads']))
            env.cr.execute(SQL("DELETE FROM mail_activity WHERE res_model = 'crm.lead' AND res_id = ANY(%s)",
                               ids['leads']))
            env.cr.execute(SQL('DELETE FROM crm_lead WHERE id = ANY(%s)', ids['leads']))
            env.cr.execute(SQL('DELETE FROM crm_lead_routing_rule WHERE id = %s', ids['rule']))
            # through the ORM: the team's mail alias goes with it
            env['crm.team'].browse(ids['team']).with_context(active_test=False).crm_team_member_ids.unlink()
            env['crm.team'].browse(ids['team']).unlink()
            env['res.users'].browse(ids['users']).write({'active': False})
            env.cr.commit()

    def _check(self, ids):
        with self._worker() as env:
            per_user = dict(env.execute_query(SQL(
                """SELECT user_id, count(*) FROM crm_lead WHERE id = ANY(%s) AND user_id IS NOT NULL
                    GROUP BY user_id""", ids['leads'])))
            history = env.execute_query(SQL(
                """SELECT lead_id, count(*) FROM crm_lead_routing_history WHERE lead_id = ANY(%s) AND kind = 'assign'
                    GROUP BY lead_id HAVING count(*) > 1""", ids['leads']))
            states = dict(env.execute_query(SQL(
                'SELECT routing_state, count(*) FROM crm_lead WHERE id = ANY(%s) GROUP BY 1', ids['leads'])))
        self.assertEqual(per_user, dict(zip(ids['users'], (2, 1), strict=True)), 'every capacity used, none exceeded')
        self.assertFalse(history, 'no lead assigned twice')
        self.assertEqual(states, {'routed': 3, 'unroutable': 3})

    def test_leads_locked_by_another_job_are_routed_soon_after(self):
        """The counting job holds the leads it counts: the routing job finds nothing to claim
        while leads are waiting, and runs again shortly instead of at its next interval."""
        ids = self._setup()
        with self._worker() as worker_a:
            worker_a.execute_query(SQL('SELECT id FROM crm_lead WHERE id = ANY(%s) FOR NO KEY UPDATE', ids['leads']))
            with self._worker() as worker_b:
                cron = worker_b.ref('lead_intelligence.ir_cron_route_leads')
                before = worker_b['ir.cron.trigger'].search_count([('cron_id', '=', cron.id)])
                worker_b['crm.lead']._cron_route_leads()
                triggers = worker_b['ir.cron.trigger'].search([('cron_id', '=', cron.id)], order='id')
                self.assertEqual(len(triggers), before + 1, 'the job is triggered again')
                self.assertLess(triggers[-1].call_at, datetime.now() + timedelta(minutes=1))
                states = worker_b.execute_query(SQL(
                    'SELECT DISTINCT routing_state FROM crm_lead WHERE id = ANY(%s)', ids['leads']))
                self.assertEqual(states, [('to_route',)], 'nothing was routed under the lock')
                triggers.unlink()
                worker_b.cr.commit()
            worker_a.cr.rollback()

    @mute_logger('odoo.sql_db', 'odoo.addons.lead_intelligence.models.bulk')
    def test_two_workers_at_once_never_exceed_a_capacity(self):
        """A routes its chunk and holds it; B runs the job meanwhile: B skips A's leads, waits
        for A's members, then starts over from a snapshot where A's leads count."""
        ids = self._setup()
        errors = []

        def run_b():
            try:
                with self._worker() as worker_b:
                    worker_b['crm.lead']._cron_route_leads()
            except Exception as error:  # pylint: disable=broad-exception-caught  # reported to the test thread
                errors.append(error)

        with self._worker() as worker_a:
            Lead = worker_a['crm.lead']
            claimed = bulk.claim_leads(worker_a, SQL(
                """SELECT id FROM crm_lead WHERE id = ANY(%s) AND routing_state = 'to_route' ORDER BY id LIMIT 3
                   FOR NO KEY UPDATE SKIP LOCKED""", ids['leads']))
            self.assertEqual(claimed, ids['leads'][:3])
            Lead._route_claimed(claimed, Lead._get_routing_config())
            worker_b = threading.Thread(target=run_b)
            worker_b.start()
            worker_b.join(1.5)
            self.assertTrue(worker_b.is_alive(), "B waits for A's salespeople")
            worker_a.cr.commit()
        worker_b.join(30)
        self.assertFalse(worker_b.is_alive())
        self.assertFalse(errors)
        self._check(ids)

    @mute_logger('odoo.sql_db', 'odoo.addons.lead_intelligence.models.bulk')
    def test_a_stale_snapshot_starts_over(self):
        """B's snapshot predates A's commit: its claim of A's leads fails to serialize and it
        starts over, seeing A's assignments."""
        ids = self._setup()
        with self._worker() as worker_a, self._worker() as worker_b:
            worker_b.cr.execute('SELECT 1')  # B's snapshot
            worker_a['crm.lead']._cron_route_leads()  # routes all six (3 routed, 3 at capacity), commits
            self._check(ids)
            worker_b['crm.lead']._cron_route_leads()
        self._check(ids)
