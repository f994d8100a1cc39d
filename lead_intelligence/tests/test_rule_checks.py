from datetime import datetime
from unittest.mock import patch

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged, users
from odoo.tools import SQL, mute_logger

from .common import TestLeadIntelligenceCommon


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestRuleChecks(TestLeadIntelligenceCommon):
    """What a rule's condition may be, checked when it is saved."""

    def test_values_their_field_cannot_take_are_refused(self):
        Rule = self.env['crm.lead.fit.rule']
        for domain, message in [
            ("[('expected_revenue', '>', 'abc')]", '"Expected Revenue" holds numbers, and "abc" is not one'),
            ("[('id', '=', 'x')]", '"ID" holds numbers'),
            ("[('id', 'in', 'SELECT 1')]", '"ID" holds numbers, and "SELECT 1" is not one'),
            ("[('date_deadline', '>', 'abc')]", 'not a valid lead domain'),
        ]:
            with self.subTest(domain=domain), self.assertRefused(message):
                Rule.create({'name': 'Bad value', 'domain': domain, 'points': 5})
        # what the checks of values miss, the database refuses: the rule is run once on save
        with patch.object(type(Rule), '_check_condition_value', lambda *args: None), \
                mute_logger('odoo.sql_db'), self.assertRefused('cannot be evaluated on the leads'):
            Rule.create({'name': 'Bad value', 'domain': "[('id', '=', 'x')]", 'points': 5})

    def test_refusals_are_plain_words(self):
        with self.assertRaises(ValidationError) as caught, self.env.cr.savepoint():
            self.env['crm.lead.fit.rule'].create({'name': 'Code', 'domain': "__import__('os').system('true')"})
        message = str(caught.exception)
        self.assertIn('not a valid lead domain', message)
        self.assertNotIn(' at 0x', message)
        self.assertNotIn('ast.', message)

    @users('user_sales_manager')
    def test_rules_read_no_restricted_field_and_no_other_record(self):
        Rule = self.env['crm.lead.fit.rule']
        for domain, message in [
            ("[('user_id.password', '=', 'x')]", 'a rule may not'),
            ("[('user_id.totp_secret', '!=', False)]", 'a rule may not'),
            ("[('user_id.api_key_ids.name', 'ilike', 'a')]", 'a rule may not'),
            ("[('partner_id.opportunity_ids.expected_revenue', '>', 5)]", 'a rule may not'),
            ("[('partner_id', 'any', [('opportunity_ids', 'any', [('expected_revenue', '>', 5)])])]",
             'a rule may not'),
            ("[('event_ids.type_id.code', '=', 'visit')]", 'a rule may not'),
            ("[('activity_state', '=', 'overdue')]", 'restricted to a group'),
        ]:
            with self.subTest(domain=domain), self.assertRefused(message):
                Rule.create({'name': 'Oracle', 'domain': domain, 'points': 1})
        # what the lead links to stays readable
        allowed = Rule.create([
            {'name': 'Country', 'domain': "[('partner_id.country_id.code', '=', 'BE')]", 'points': 1},
            {'name': 'Tags', 'domain': "[('tag_ids', 'any', [('name', '=', 'VIP')])]", 'points': 1},
            {'name': 'Stage', 'domain': "[('stage_id.sequence', '>=', 2)]", 'points': 1},
        ])
        self.assertEqual(len(allowed), 3)

    def test_a_rule_without_condition_needs_consent(self):
        Rule = self.env['crm.lead.fit.rule']
        with self.assertRefused('has no condition'):
            Rule.create({'name': 'Half-filled', 'points': 10})
        with self.assertRefused('has no condition'):
            self.rule_phone.domain = '[]'
        every = Rule.create({'name': 'Every lead', 'points': 10, 'match_all': True})
        lead = self._create_lead()
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.assertEqual(lead.fit_score, 10)
        with self.assertRefused('has no condition'):
            every.match_all = False
        draft = Rule.create({'name': 'Draft', 'points': 10, 'active': False})
        with self.assertRefused('has no condition'):
            draft.action_unarchive()
        # the shipped fallback classifications apply to every lead on purpose
        self.assertTrue(self.env.ref('lead_intelligence.classification_lifecycle_cold').match_all)


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestRuleFailures(TestLeadIntelligenceCommon):
    """A rule that fails once saved (data or schema changed) is set aside; scoring goes on."""

    def _break(self, rule, domain):
        """Store ``domain`` on ``rule`` behind the checks, as a change of schema or policy would leave it."""
        self.env.execute_query(SQL('UPDATE %s SET domain = %s WHERE id = %s',
                                   SQL.identifier(rule._table), domain, rule.id))
        self.env.invalidate_all()

    def _manager_todos(self, rule):
        return self.env['mail.activity'].search([('res_model', '=', rule._name), ('res_id', '=', rule.id)])

    def test_a_broken_fit_rule_is_set_aside_and_the_passes_go_on(self):
        Run = self.env['crm.lead.score.run']
        Run.search([]).unlink()
        lead = self._create_lead(expected_revenue=80000, phone='+32 456 00 00 00')
        self._break(self.rule_phone, "[('date_deadline', '>', 'abc')]")
        with self._mock_commit_progress():
            self.env['crm.lead']._cron_rescore_dirty_leads()
        self.assertEqual(lead.fit_score, 40, 'the other rules still score the lead')
        self.assertIn('abc', self.rule_phone.error_message)
        self.assertIn(self.user_sales_manager, self._manager_todos(self.rule_phone).user_id)
        self.assertIn(self.rule_phone, self.env['crm.lead.fit.rule'].search([('error_message', '!=', False)]))
        with self._mock_commit_progress():
            self.env['crm.lead']._cron_rescore_all_leads()
        self.assertEqual(Run.search([]).state, 'done')

    @mute_logger('odoo.sql_db')
    def test_the_counting_job_goes_on(self):
        lead = self._create_lead(expected_revenue=80000, phone='+32 456 00 00 00')
        self._break(self.rule_phone, "[('date_deadline', '>', 'abc')]")
        # sudo: events are logged by the system
        Event = self.env['crm.lead.event'].sudo()
        Event._log_odoo_events([{'type': 'download', 'occurred_at': datetime(2026, 1, 5, 10), 'lead_id': lead.id,
                                 'external_id': 'rule-checks-download'}], 'import')
        with self._mock_commit_progress():
            Event._cron_count_events()
        self.assertEqual((lead.download_count, lead.fit_score), (1, 40))
        self.assertTrue(self.rule_phone.error_message)

    @mute_logger('odoo.sql_db')
    def test_a_rule_failing_in_the_database_is_found_among_the_others(self):
        lead = self._create_lead(expected_revenue=80000, referred='Partner event')
        self._break(self.rule_phone, "[('referred', '!=', False)]")
        # a column gone behind the registry's back: the combined query fails, the culprit is found
        self.env.execute_query(SQL('ALTER TABLE crm_lead RENAME COLUMN referred TO referred_gone'))
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.env.execute_query(SQL('ALTER TABLE crm_lead RENAME COLUMN referred_gone TO referred'))
        self.env.invalidate_all()
        self.assertEqual(lead.fit_score, 40)
        self.assertTrue(self.rule_phone.error_message)
        self.assertFalse(self.rule_revenue.error_message)

    def test_a_broken_classification_rule_is_set_aside(self):
        rule = self.env.ref('lead_intelligence.classification_job_decision_maker')
        self._break(rule, "[('date_deadline', '>', 'abc')]")
        lead = self._create_lead(function='Software engineer')
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.env.invalidate_all()
        self.assertEqual(lead.job_level, 'technical')
        self.assertTrue(rule.error_message)
        self.assertTrue(self._manager_todos(rule))

    def test_a_stored_rule_outside_the_policy_is_set_aside(self):
        lead = self._create_lead(expected_revenue=80000)
        self._break(self.rule_phone, "[('user_id.api_key_ids.name', 'ilike', 'a')]")
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.assertEqual(lead.fit_score, 40)
        self.assertIn('a rule may not', self.rule_phone.error_message)

    def test_the_lead_form_shows_what_it_can(self):
        lead = self._create_lead(expected_revenue=80000, phone='+32 456 00 00 00')
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self._break(self.rule_phone, "[('date_deadline', '>', 'abc')]")
        lead.with_context(lead_intelligence_score_now=True).write({'function': 'CEO'})  # score on save
        explanation = str(lead.score_explanation)
        self.assertIn('Big deal', explanation)
        self.assertIn('Phone given', explanation)
        self.assertIn('is set aside', explanation)

    def test_fixing_the_rule_clears_its_error_and_rescores(self):
        self._break(self.rule_phone, "[('date_deadline', '>', 'abc')]")
        self.env['crm.lead']._get_scoring_config()
        self.assertTrue(self.rule_phone.error_message)
        Run = self.env['crm.lead.score.run']
        Run.search([]).unlink()
        self.rule_phone.domain = "[('phone', '!=', False)]"
        self.assertFalse(self.rule_phone.error_message)
        self.assertEqual(Run.search([('state', '=', 'running')]).cause, 'config')
        self.assertIn(self.rule_phone, self.env['crm.lead']._get_scoring_config().rules)

    @mute_logger('odoo.addons.lead_intelligence.models.scoring.crm_lead')
    def test_a_failing_pass_is_marked_failed_and_retried(self):
        Run = self.env['crm.lead.score.run']
        Run.search([]).unlink()
        self._create_lead(expected_revenue=80000)
        cron = self.env.ref('lead_intelligence.ir_cron_rescore_all_leads')
        Lead = type(self.env['crm.lead'])
        with patch.object(Lead, '_score_query', side_effect=RuntimeError('disk full')), \
                self._mock_commit_progress():
            self.env['crm.lead']._cron_rescore_all_leads()
        run = Run.search([])
        self.assertEqual((run.state, run.failure_count), ('failed', 1))
        self.assertIn('disk full', run.error_message)
        self.assertTrue(self.env['ir.cron.trigger'].search([('cron_id', '=', cron.id),
                                                            ('call_at', '>', run.date_end)]))
        with self._mock_commit_progress():
            self.env['crm.lead']._cron_rescore_all_leads()
        self.assertEqual((Run.search([]), run.state), (run, 'done'), 'the failed pass is resumed')

    def test_a_waiting_configuration_pass_is_triggered_again(self):
        cron = self.env.ref('lead_intelligence.ir_cron_rescore_all_leads')
        Trigger = self.env['ir.cron.trigger']
        self.env['crm.lead']._trigger_full_rescore()
        Trigger.search([('cron_id', '=', cron.id)]).unlink()  # spent on a run that failed
        self.rule_phone.unlink()
        self.assertEqual(len(self.env['crm.lead.score.run'].search([('state', '=', 'running')])), 1)
        self.assertTrue(Trigger.search([('cron_id', '=', cron.id)]))


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestRuleCompanies(TestLeadIntelligenceCommon):
    """A rule shared by every company is the business of users of every company."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._activate_multi_company()
        cls.manager_c2 = cls.env['res.users'].create({
            'name': 'C2 manager', 'login': 'rules_c2_manager', 'company_id': cls.company_2.id,
            'company_ids': [(6, 0, cls.company_2.ids)],
            'group_ids': [(6, 0, cls.env.ref('sales_team.group_sale_manager').ids)]})

    def test_a_company_bound_manager_writes_rules_of_its_company(self):
        Rule = self.env['crm.lead.fit.rule'].with_user(self.manager_c2)
        rule = Rule.create({'name': 'C2 big deal', 'domain': "[('expected_revenue', '>=', 1000)]", 'points': 5})
        self.assertEqual(rule.company_id, self.company_2)
        with self.assertRefused('only a user with access to every company'):
            rule.company_id = False
        Classification = self.env['crm.lead.classification.rule'].with_user(self.manager_c2)
        with self.assertRefused('only a user with access to every company'):
            Classification.create({'name': 'Shared', 'dimension': 'job_level', 'value': 'job_level:staff',
                                   'domain': "[('function', '!=', False)]", 'company_id': False})
        shared = self.rule_revenue.with_user(self.manager_c2)
        with self.assertRaises(AccessError):
            shared.write({'points': 1})
        with self.assertRaises(AccessError):
            shared.unlink()
        self.assertEqual(self.rule_revenue.points, 40)

    def test_a_company_rule_set_aside_warns_the_managers_of_its_company(self):
        rule = self.env['crm.lead.fit.rule'].create({
            'name': 'C2 rule', 'domain': "[('phone', '!=', False)]", 'points': 5, 'company_id': self.company_2.id})
        self.env.execute_query(SQL("UPDATE crm_lead_fit_rule SET domain = %s WHERE id = %s",
                                   "[('date_deadline', '>', 'abc')]", rule.id))
        self.env.invalidate_all()
        self.env['crm.lead']._get_scoring_config()
        warned = self.env['mail.activity'].search([('res_model', '=', rule._name), ('res_id', '=', rule.id)]).user_id
        self.assertIn(self.manager_c2, warned)
        self.assertIn(self.user_sales_manager_mc, warned)
        self.assertNotIn(self.user_sales_manager, warned, 'a manager of the main company only is not concerned')

    def test_a_manager_of_every_company_shares_rules(self):
        rule = self.env['crm.lead.fit.rule'].with_user(self.user_sales_manager_mc).create(
            {'name': 'Shared', 'domain': "[('expected_revenue', '>=', 1000)]", 'points': 5})
        self.assertFalse(rule.company_id)
        rule.points = 6
        self.assertEqual(rule.points, 6)
