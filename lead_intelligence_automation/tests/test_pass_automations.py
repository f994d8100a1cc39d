import ast

from odoo.tests import tagged

from odoo.addons.lead_intelligence.tests.common import TestLeadIntelligenceCommon
from odoo.addons.lead_intelligence.tests.test_routing import TestRoutingCommon

CALLS = 'lead_intelligence_automation.test_calls'


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestPassAutomations(TestLeadIntelligenceCommon):
    """Automation rules on leads fire on what the passes change by SQL, after the commit."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Lead = cls.env['crm.lead']
        # fit points: revenue 40, CEO 30, phone 10; tiers from 75 (A, Hot), 50 (B), 30 (C), 0 (D)
        cls.lead_b_to_a = Lead.create({'name': 'B to A', 'type': 'lead', 'function': 'CEO', 'expected_revenue': 90000})
        cls.lead_c_to_a = Lead.create({'name': 'C to A', 'type': 'lead', 'function': 'CEO'})
        cls.lead_stays_d = Lead.create({'name': 'Stays D', 'type': 'lead'})
        cls.lead_stays_a = Lead.create({'name': 'Stays A', 'type': 'lead', 'function': 'CEO', 'phone': '+1 555 0100',
                                        'expected_revenue': 90000})
        cls.leads = cls.lead_b_to_a | cls.lead_c_to_a | cls.lead_stays_d | cls.lead_stays_a
        Lead._score_leads(cls.leads.ids, 'manual')

    def _create_rule(self, field_name, code, filter_domain=False, filter_pre_domain=False):
        """An automation rule on leads watching ``field_name``, whose action runs ``code``."""
        rule = self.env['base.automation'].create({
            'name': f'On {field_name}',
            'model_id': self.env['ir.model']._get_id('crm.lead'),
            'trigger': 'on_create_or_write',
            'trigger_field_ids': [(6, 0, [self.env['ir.model.fields']._get('crm.lead', field_name).id])],
            'filter_domain': filter_domain,
            'filter_pre_domain': filter_pre_domain,
        })
        self.env['ir.actions.server'].create({
            'name': 'Action', 'model_id': rule.model_id.id, 'usage': 'base_automation',
            'base_automation_id': rule.id, 'state': 'code', 'code': code,
        })
        return rule

    def _create_recording_rule(self, field_name, **domains):
        """A rule that records the ids of the leads of each of its action's calls (see :meth:`_calls`)."""
        return self._create_rule(field_name, (
            f"calls = env['ir.config_parameter'].get_param('{CALLS}', '')\n"
            f"env['ir.config_parameter'].set_param('{CALLS}', calls + repr(sorted(records.ids)) + ';')\n"), **domains)

    def _calls(self):
        """The leads of each call of the recording rules' actions, in order."""
        calls = self.env['ir.config_parameter'].sudo().get_param(CALLS, '')
        return [ast.literal_eval(call) for call in calls.split(';') if call]

    def _rescore(self, leads):
        """The dirty job on ``leads``, written meanwhile: one chunk (its commit mocked)."""
        with self._mock_commit_progress():
            self.env['crm.lead']._cron_rescore_dirty_leads()
        self.env.invalidate_all()

    def _after_commit(self):
        """What the commit of the pass's transaction runs after it (tests never commit): the
        rules, in a cursor of their own, here the test's."""
        with self.enter_registry_test_mode():
            self.env.cr.postcommit.run()
        self.env.invalidate_all()

    def test_tier_rule_fires_once_per_lead_whose_tier_a_pass_changed(self):
        self.assertEqual(self.leads.tier_id, self.tier_b | self.tier_c | self.tier_d | self.tier_a)
        self._create_recording_rule('tier_id', filter_domain=repr([('tier_id', '=', self.tier_a.id)]))
        (self.lead_b_to_a | self.lead_stays_a | self.lead_stays_d).write({'phone': '+1 555 0101'})
        self.lead_c_to_a.write({'expected_revenue': 60000, 'phone': '+1 555 0102'})
        self._rescore(self.leads)
        self.assertEqual((self.lead_b_to_a | self.lead_c_to_a).tier_id, self.tier_a)
        self.assertEqual(self.lead_stays_d.tier_id, self.tier_d, 'the phone alone keeps it in D')
        self.assertEqual(self._calls(), [], 'nothing runs before the commit')
        self._after_commit()
        # one call for the chunk, with the leads whose tier moved, not the one already in A
        self.assertEqual(self._calls(), [sorted((self.lead_b_to_a | self.lead_c_to_a).ids)])
        self.assertEqual(self.lead_b_to_a.date_automation_last.date(), self.env.cr.now().date())
        self._after_commit()
        self.env['crm.lead']._score_leads(self.leads.ids, 'manual')
        self._after_commit()
        self.assertEqual(len(self._calls()), 1, 'a pass that changes no tier runs no rule')

    def test_before_update_domain_reads_the_values_before_the_pass(self):
        self._create_recording_rule('tier_id', filter_pre_domain=repr([('tier_id', '=', self.tier_b.id)]))
        self.lead_b_to_a.write({'phone': '+1 555 0101'})
        self.lead_c_to_a.write({'expected_revenue': 60000, 'phone': '+1 555 0102'})
        self._rescore(self.leads)
        self._after_commit()
        # both are in A now: only the lead that was in B before the pass passes the domain
        self.assertEqual(self._calls(), [[self.lead_b_to_a.id]])

    def test_a_failing_action_loses_nothing_of_the_pass(self):
        failing = self._create_rule('tier_id', "records.write({'color': 9})\nraise UserError('No phone line')")
        self._create_recording_rule('tier_id')
        self.lead_b_to_a.write({'phone': '+1 555 0101'})
        self._rescore(self.lead_b_to_a)
        with self.assertLogs('odoo.addons.lead_intelligence_automation.models.base_automation', 'WARNING'):
            self._after_commit()
        self.assertEqual(self.lead_b_to_a.tier_id, self.tier_a, "the pass's tier is kept")
        self.assertEqual(self.lead_b_to_a.score_history_ids[0].new_tier_id, self.tier_a)
        self.assertEqual(self.lead_b_to_a.color, 0, "the failing rule's own writes are undone")
        self.assertEqual(self._calls(), [[self.lead_b_to_a.id]], 'the other rules run')
        errors = self.env['ir.logging'].search(failing.action_view_webhook_logs()['domain'])
        self.assertEqual(errors.mapped('level'), ['ERROR'])
        self.assertIn('No phone line', errors.message)
        self.assertIn(str(self.lead_b_to_a.id), errors.message)

    def test_lifecycle_rule_fires_on_the_classification_of_the_pass(self):
        self._create_recording_rule(
            'lifecycle_stage', filter_domain=repr([('lifecycle_stage', '=', 'mql')]),
            filter_pre_domain=repr([('lifecycle_stage', '!=', 'mql')]))
        self.assertEqual(self.lead_c_to_a.lifecycle_stage, 'cold')
        self.lead_c_to_a.write({'phone': '+1 555 0102'})  # 40 points: an MQL
        self.lead_stays_d.write({'phone': '+1 555 0103'})  # 10 points: still cold
        self._rescore(self.leads)
        self.assertEqual(self.lead_c_to_a.lifecycle_stage, 'mql')
        self._after_commit()
        self.assertEqual(self._calls(), [[self.lead_c_to_a.id]])

    def test_changes_rolled_back_run_no_rule(self):
        self._create_recording_rule('tier_id')
        self.lead_b_to_a.write({'phone': '+1 555 0101'})
        self._rescore(self.lead_b_to_a)
        self.env.cr.postcommit.clear()  # what a rollback does
        self._after_commit()
        self.assertEqual(self._calls(), [])


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestShippedAutomations(TestLeadIntelligenceCommon):
    """The example rules, shipped inactive, with the shipped tiers."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        (cls.tier_a | cls.tier_b | cls.tier_c | cls.tier_d).unlink()
        cls.env['crm.lead.tier'].browse(
            [cls.env.ref(f'lead_intelligence.crm_lead_tier_{name}').id for name in 'abcd']).active = True

    def _rescore_and_commit(self, leads):
        self.env['crm.lead']._score_leads(leads.ids, 'lead')
        with self.enter_registry_test_mode():
            self.env.cr.postcommit.run()
        self.env.invalidate_all()

    def _calls(self, lead):
        """The lead's call activities (a lead entering tier A also gets the hot lead alert's to-do)."""
        return lead.activity_ids.filtered(lambda activity: activity.activity_type_id == self.env.ref(
            'mail.mail_activity_data_call'))

    def test_examples_are_inactive(self):
        rules = self.env['base.automation'].with_context(active_test=False).search([
            ('id', 'in', [self.env.ref(f'lead_intelligence_automation.base_automation_{name}').id
                          for name in ('tier_a_call', 'mql_nurture', 'tier_d_no_call')])])
        self.assertEqual(len(rules), 3)
        self.assertFalse(any(rules.mapped('active')))
        lead = self._create_lead(function='CEO', expected_revenue=90000, user_id=self.user_sales_salesman.id)
        self._rescore_and_commit(lead)
        lead.phone = '+1 555 0100'
        self._rescore_and_commit(lead)
        self.assertEqual(lead.tier_id, self.env.ref('lead_intelligence.crm_lead_tier_a'))
        # the hot lead alert's to-do is the addon's own; the example would add a call
        self.assertFalse(self._calls(lead), 'an inactive example does nothing')

    def test_tier_a_example_schedules_a_call_for_the_salesperson(self):
        self.env.ref('lead_intelligence_automation.base_automation_tier_a_call').active = True
        tier_a = self.env.ref('lead_intelligence.crm_lead_tier_a')
        tier_a.sla_hours = 48
        lead = self._create_lead(function='CEO', expected_revenue=90000, user_id=self.user_sales_salesman.id)
        unowned = self._create_lead(function='CEO', expected_revenue=90000, user_id=False)
        self._rescore_and_commit(lead | unowned)
        self.assertEqual(lead.tier_id, self.env.ref('lead_intelligence.crm_lead_tier_b'))
        (lead | unowned).phone = '+1 555 0100'
        self._rescore_and_commit(lead | unowned)
        self.assertEqual((lead | unowned).tier_id, tier_a)
        calls = self._calls(lead)
        self.assertEqual(len(calls), 1)
        self.assertEqual(calls.user_id, self.user_sales_salesman)
        self.assertGreater(calls.date_deadline, self.env.cr.now().date(), 'due within the 48 h SLA')
        self.assertFalse(self._calls(unowned), 'a lead without salesperson is left to routing')

    def test_tier_d_example_removes_pending_calls(self):
        self.env.ref('lead_intelligence_automation.base_automation_tier_d_no_call').active = True
        lead = self._create_lead(function='CEO')
        self._rescore_and_commit(lead)
        self.assertEqual(lead.tier_id, self.env.ref('lead_intelligence.crm_lead_tier_c'))
        lead.activity_schedule('mail.mail_activity_data_call', user_id=self.user_sales_salesman.id)
        lead.activity_schedule('mail.mail_activity_data_todo', user_id=self.user_sales_salesman.id)
        lead.function = 'Student'
        self._rescore_and_commit(lead)
        self.assertEqual(lead.tier_id, self.env.ref('lead_intelligence.crm_lead_tier_d'))
        self.assertEqual(lead.activity_ids.activity_type_id, self.env.ref('mail.mail_activity_data_todo'))

    def test_mql_example_tags_the_lead(self):
        self.env.ref('lead_intelligence_automation.base_automation_mql_nurture').active = True
        lead = self._create_lead(type='lead', function='CEO')
        self._rescore_and_commit(lead)
        self.assertEqual((lead.lifecycle_stage, lead.tag_ids.mapped('name')), ('cold', []))
        lead.phone = '+1 555 0100'
        self._rescore_and_commit(lead)
        self.assertEqual((lead.lifecycle_stage, lead.tag_ids.mapped('name')), ('mql', ['Nurture']))


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestRoutingAutomations(TestRoutingCommon):
    """Rules on the salesperson and the routing state fire on routing's decisions."""

    def test_user_set_and_routing_state_rules_fire_on_routing(self):
        Automation = self.env['base.automation']
        user_set = Automation.create({
            'name': 'Salesperson set', 'model_id': self.env['ir.model']._get_id('crm.lead'), 'trigger': 'on_user_set'})
        routed = Automation.create({
            'name': 'Routed', 'model_id': self.env['ir.model']._get_id('crm.lead'), 'trigger': 'on_create_or_write',
            'trigger_field_ids': [(6, 0, [self.env['ir.model.fields']._get('crm.lead', 'routing_state').id])],
            'filter_pre_domain': "[('routing_state', '!=', 'routed')]",
            'filter_domain': "[('routing_state', '=', 'routed')]"})
        self.assertEqual(user_set.trigger_field_ids.name, 'user_id')
        for rule in user_set | routed:
            self.env['ir.actions.server'].create({
                'name': rule.name, 'model_id': rule.model_id.id, 'usage': 'base_automation',
                'base_automation_id': rule.id, 'state': 'code',
                'code': f"for record in records:\n    record.message_post(body='{rule.name}: %s' % records.ids)"})
        leads = self._hot_leads(2)
        self._route()
        self.assertEqual(leads.mapped('routing_state'), ['routed', 'routed'])
        with self.enter_registry_test_mode():
            self.env.cr.postcommit.run()
        self.env.invalidate_all()
        for rule in user_set | routed:
            posts = self.env['mail.message'].search([('body', 'ilike', f'{rule.name}: ')])
            self.assertEqual(len(posts), 2, 'one call for the chunk, posting on each of its leads')
            self.assertEqual(set(posts.mapped('res_id')), set(leads.ids))
            self.assertIn(str(sorted(leads.ids)), posts[0].body)
