import ast
from datetime import datetime, timedelta
from unittest.mock import patch

from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import SQL

from .common import TestLeadIntelligenceCommon


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestClassification(TestLeadIntelligenceCommon):
    """The classification rules shipped in data/ on realistic leads, and the machinery around them."""

    def _classify(self, leads):
        self.env['crm.lead']._score_leads(leads.ids, 'manual')
        self.env.invalidate_all()
        return leads

    def test_job_levels_from_english_and_chinese_titles(self):
        titles = {
            'CEO': 'decision_maker', 'Founder & Owner': 'decision_maker', '总经理': 'decision_maker',
            '董事长': 'decision_maker', 'CTO': 'technical', '技术总监': 'technical', 'Software Engineer': 'technical',
            'Procurement Manager': 'procurement', '采购经理': 'procurement', 'Director of Sales': 'manager',
            '市场部经理': 'manager', 'Marketing Assistant': 'staff', 'Student': 'staff', False: False,
        }
        leads = self.env['crm.lead'].create([{'name': f'Lead {index}', 'function': title}
                                             for index, title in enumerate(titles)])
        self._classify(leads)
        self.assertEqual(dict(zip(titles, leads.mapped('job_level'), strict=True)), titles)

    def test_company_size_from_headcount_or_revenue(self):
        leads = self.env['crm.lead'].create([
            {'name': 'Small', 'employee_count': 20},
            {'name': 'Medium', 'employee_count': 300},
            {'name': 'Large by headcount', 'employee_count': 5000},
            {'name': 'Large by revenue', 'employee_count': 20, 'annual_revenue': 2e8},
            {'name': 'Unknown'},
        ])
        self._classify(leads)
        self.assertEqual(leads.mapped('company_size'), ['small', 'medium', 'large', 'large', False])
        self.env['res.config.settings'].create({'lead_intelligence_size_employees_medium': 10}).execute()
        self._classify(leads[0])
        self.assertEqual(leads[0].company_size, 'medium')

    def test_source_stage_intent_and_lifecycle(self):
        qualified = self.env['crm.stage'].create({'name': 'Qualified', 'sequence': 2})
        lead = self._create_lead(referred='A happy customer', type='opportunity', stage_id=qualified.id)
        cold = self._create_lead(type='lead')
        self._classify(lead | cold)
        self.assertEqual(
            (lead.source_type, lead.sales_stage_class, lead.intent_level, lead.lifecycle_stage),
            ('internal', 'intent', 'low', 'sql'))
        self.assertEqual((cold.intent_level, cold.lifecycle_stage), ('low', 'cold'))

    def test_new_behaviour_updates_intent(self):
        lead = self._create_lead(type='lead')
        self._classify(lead)
        self.assertEqual(lead.intent_level, 'low')
        self.env['crm.lead.event']._ingest([{
            'type': 'demo_request', 'occurred_at': (datetime.now() - timedelta(hours=1)).isoformat(),
            'lead_id': lead.id, 'external_id': 'classification-demo'}])
        with self._mock_commit_progress():
            self.env['crm.lead.event']._cron_count_events()
        self.env.invalidate_all()
        self.assertEqual(lead.intent_level, 'high')
        history = lead.classification_history_ids.filtered(lambda row: row.dimension == 'intent_level')[0]
        self.assertEqual((history.old_label, history.new_label, history.cause), ('Low', 'High', 'event'))

    def test_industry_rules_in_history_and_chatter(self):
        retail, energy = self.env['res.partner.industry'].create([{'name': 'Shops'}, {'name': 'Power'}])
        shops, power = self.env['crm.lead.classification.rule'].create([
            {'name': 'Shops', 'dimension': 'industry', 'industry_id': retail.id, 'sequence': 1,
             'domain': "[('partner_name', 'ilike', 'shop')]"},
            {'name': 'Power', 'dimension': 'industry', 'industry_id': energy.id, 'sequence': 2,
             'domain': "[('partner_name', 'ilike', 'power')]"},
        ])
        corner, plant = self.env['crm.lead'].create([
            {'name': 'Corner', 'partner_name': 'Corner Shop'}, {'name': 'Plant', 'partner_name': 'Power Plant Shop'}])
        self._classify(corner | plant)
        self.assertEqual((corner | plant).mapped('industry_id'), retail)
        shops.sequence = 3  # the power rule now comes first
        self._classify(corner | plant)
        self.assertEqual((corner.industry_id, plant.industry_id), (retail, energy))
        history = plant.classification_history_ids.filtered(lambda row: row.dimension == 'industry')
        self.assertEqual(history.mapped(lambda row: (row.old_label, row.new_label, row.cause)), [
            (retail.display_name, energy.display_name, 'rule'), (False, retail.display_name, 'rule')])
        tracked = plant.message_ids.tracking_value_ids.filtered(lambda value: value.field_id.name == 'industry_id')
        self.assertEqual(
            tracked.sorted('id').mapped(lambda value: (value.old_value_integer, value.new_value_integer,
                                                       value.old_value_char, value.new_value_char)),
            [(retail.id, energy.id, retail.display_name, energy.display_name)],
            'a first value is in the history, not in the chatter')
        self.assertEqual(len(corner.classification_history_ids.filtered(lambda row: row.dimension == 'industry')), 1)
        self.assertTrue(power.last_match_date)

    def test_words_of_a_rule_match_as_odoo_search_does(self):
        """An OR of ``ilike`` on one column is matched as one ``LIKE ANY``: the same leads as Odoo's search."""
        titles = ['Chief Executive Officer', 'ceo', 'C.E.O.', 'Ceo & Founder', '总经理助理', 'IT主管', 'İzmir Ceo', '',
                  False, 'Senior ENGINEER', '100% owner', '100 percent owner', 'own_er', 'owner', 'Ärztin CEO']
        leads = self.env['crm.lead'].create([{'name': f'Title {index}', 'function': title, 'partner_name': title}
                                             for index, title in enumerate(titles)])
        domain = ['|', '|', '|', '|', '|', ('function', 'ilike', 'ceo'), ('function', 'ilike', '总经理'),
                  ('function', 'ilike', 'engineer'), ('function', 'ilike', '100%'), ('partner_name', 'ilike', 'own_r'),
                  ('partner_name', 'ilike', 'ÄRZT')]
        words = self.env['crm.lead.class'].create({'name': 'Words'})
        rule = self.env['crm.lead.classification.rule'].create({
            'name': 'Words', 'dimension': 'class', 'class_id': words.id, 'domain': repr(domain)})
        query = self.env['crm.lead']._search([])
        self.assertIn('LIKE ANY', rule._get_match_sql(query)[0].code)
        self._classify(leads)
        expected = self.env['crm.lead'].search([('id', 'in', leads.ids), *domain])
        self.assertEqual(len(expected), 9)
        self.assertEqual(leads.filtered(lambda lead: words in lead.class_ids), expected)

    def test_tag_conditions_of_a_rule_match_as_odoo_search_does(self):
        """A many2many condition is matched by an index probe (``OFFSET 0``): the same leads as Odoo's search."""
        alpha, beta, gamma = self.env['crm.tag'].create([{'name': 'Alpha'}, {'name': 'Beta'}, {'name': 'Gamma'}])
        tag_sets = [alpha, beta, gamma, alpha | gamma, beta | gamma, self.env['crm.tag']]
        leads = self.env['crm.lead'].create([
            {'name': f'Tags {index}', 'tag_ids': [(6, 0, tags.ids)], 'function': 'CEO' if index % 2 else 'Clerk'}
            for index, tags in enumerate(tag_sets)])
        domains = {
            'Alpha or Beta': [('tag_ids.name', 'in', ['Alpha', 'Beta'])],
            'Gamma and a CEO': [('tag_ids', 'in', gamma.ids), ('function', 'ilike', 'ceo')],
            'Any tag but no Beta': [('tag_ids', '!=', False), ('tag_ids.name', 'not in', ['Beta'])],
        }
        rules = self.env['crm.lead.classification.rule']
        for name, domain in domains.items():
            rules |= rules.create({'name': name, 'dimension': 'class', 'domain': repr(domain),
                                   'class_id': self.env['crm.lead.class'].create({'name': name}).id})
        self.assertIn('OFFSET 0', rules[0]._get_match_sql(self.env['crm.lead']._search([]))[0].code)
        self._classify(leads)
        for rule in rules:
            expected = self.env['crm.lead'].search([('id', 'in', leads.ids), *ast.literal_eval(rule.domain)])
            self.assertTrue(expected)
            self.assertEqual(leads.filtered(lambda lead, rule=rule: rule.class_id in lead.class_ids), expected,
                             rule.name)

    def test_path_conditions_of_a_rule_match_as_odoo_search_does(self):
        """A path through a many2one to a configuration record (a country's code) is a subquery,
        not a join made for every lead: the same leads as Odoo's search, a lead without country
        included, archived records read as Odoo's join reads them."""
        belgium, china = self.env.ref('base.be'), self.env.ref('base.cn')
        archived = self.env['crm.team'].create({'name': 'Old team', 'active': False})
        leads = self.env['crm.lead'].create([
            {'name': 'Belgian', 'country_id': belgium.id}, {'name': 'Chinese', 'country_id': china.id},
            {'name': 'Nowhere'}, {'name': 'Old team', 'team_id': archived.id, 'country_id': china.id}])
        domains = {
            'Benelux': [('country_id.code', 'in', ['BE', 'NL', 'LU'])],
            'Not Benelux': ['!', ('country_id.code', 'in', ['BE', 'NL', 'LU'])],
            'Old team or Belgium': ['|', ('team_id.name', '=', 'Old team'), ('country_id.code', '=', 'BE')],
        }
        rules = self.env['crm.lead.classification.rule']
        for name, domain in domains.items():
            rules |= rules.create({'name': name, 'dimension': 'class', 'domain': repr(domain),
                                   'class_id': self.env['crm.lead.class'].create({'name': name}).id})
        query = self.env['crm.lead']._search([])
        code = rules[0].sudo()._get_match_sql(query)[0].code
        self.assertIn('IN (SELECT', code)
        self.assertNotIn('JOIN', query.from_clause.code)
        self._classify(leads)
        for rule in rules:
            expected = self.env['crm.lead'].with_context(active_test=False).search(
                [('id', 'in', leads.ids), *ast.literal_eval(rule.domain)])
            self.assertTrue(expected, rule.name)
            self.assertEqual(leads.filtered(lambda lead, rule=rule: rule.class_id in lead.class_ids), expected,
                             rule.name)

    def test_write_updates_the_classification_with_history_and_chatter(self):
        lead = self._create_lead(function='Marketing Assistant')
        self._classify(lead)
        self.assertEqual(lead.job_level, 'staff')
        lead.with_context(lead_intelligence_score_now=True).write({'function': '总经理'})
        self.env.invalidate_all()
        self.assertEqual(lead.job_level, 'decision_maker')
        history = lead.classification_history_ids.filtered(lambda row: row.dimension == 'job_level')
        self.assertEqual(history[0].mapped(lambda row: (row.old_label, row.new_label, row.cause)),
                         [('Staff', 'Decision Maker', 'rule')])
        tracked = lead.message_ids.tracking_value_ids.filtered(lambda value: value.field_id.name == 'job_level')
        self.assertEqual(tracked.mapped(lambda value: (value.old_value_char, value.new_value_char)),
                         [('Staff', 'Decision Maker')], 'the first value (Staff) is in the history, not the chatter')
        self.assertEqual(lead.classification_history_ids.filtered(
            lambda row: row.dimension == 'job_level').mapped('old_value'), ['staff', False], 'kept as codes')

    def test_a_value_set_by_hand_is_kept_until_cleared(self):
        lead = self._create_lead(function='CEO')
        self._classify(lead)
        lead.write({'job_level': 'procurement'})
        self.assertTrue(lead.job_level_manual)
        self.assertEqual(lead.classification_history_ids[0].cause, 'user')
        lead.write({'function': 'Student'})
        self._classify(lead)
        self.assertEqual(lead.job_level, 'procurement', 'the rules do not overwrite a user')
        lead.write({'job_level': False})
        self.assertFalse(lead.job_level_manual)
        self._classify(lead)
        self.assertEqual(lead.job_level, 'staff', 'cleared: the rules decide again')
        given = self._create_lead(function='CEO', lifecycle_stage='hot')
        self._classify(given)
        self.assertEqual((given.lifecycle_stage, given.lifecycle_stage_manual), ('hot', True))

    def test_first_matching_rule_wins_and_order_can_change(self):
        Rule = self.env['crm.lead.classification.rule']
        first = Rule.create({'name': 'VIP first', 'dimension': 'intent_level', 'value': 'intent_level:high',
                             'domain': "[('priority', '=', '3')]", 'sequence': 1})
        Rule.create({'name': 'Priority means medium', 'dimension': 'intent_level', 'value': 'intent_level:medium',
                     'domain': "[('priority', '!=', '0')]", 'sequence': 2})
        lead = self._create_lead(priority='3')
        self._classify(lead)
        self.assertEqual(lead.intent_level, 'high')
        first.sequence = 5
        self._classify(lead)
        self.assertEqual(lead.intent_level, 'medium')
        self.assertTrue(first.last_match_date, 'a rule that matched says when')

    def test_hierarchical_classes_by_rules(self):
        Class = self.env['crm.lead.class']
        manufacturing = Class.create({'name': 'Manufacturing'})
        automotive = Class.create({'name': 'Automotive', 'parent_id': manufacturing.id})
        ev_parts = Class.create({'name': 'EV parts', 'parent_id': automotive.id})
        self.assertEqual(ev_parts.complete_name, 'Manufacturing / Automotive / EV parts')
        with self.assertRaisesRegex(UserError, 'Recursion'), self.env.cr.savepoint():
            manufacturing.parent_id = ev_parts
        Rule = self.env['crm.lead.classification.rule']
        Rule.create({'name': 'Battery makers', 'dimension': 'class', 'class_id': ev_parts.id,
                     'domain': "[('name', 'ilike', 'battery')]"})
        Rule.create({'name': 'Big deals in automotive', 'dimension': 'class', 'class_id': automotive.id,
                     'domain': "[('expected_revenue', '>=', 100000)]"})
        lead = self._create_lead(name='Battery packs', expected_revenue=200000)
        self._classify(lead)
        self.assertEqual(lead.class_ids, automotive | ev_parts)
        history = lead.classification_history_ids.filtered(lambda row: row.dimension == 'class')
        self.assertEqual(history.new_label, 'Manufacturing / Automotive, Manufacturing / Automotive / EV parts')

    def test_rules_are_validated(self):
        Rule = self.env['crm.lead.classification.rule']
        with self.assertRefused('own dimension'):
            Rule.create({'name': 'Wrong', 'dimension': 'job_level', 'value': 'intent_level:high', 'match_all': True})
        with self.assertRefused('not a valid lead domain'):
            Rule.create({'name': 'Bad', 'dimension': 'job_level', 'value': 'job_level:staff',
                         'domain': "[('no_such_field', '=', 1)]"})
        with self.assertRefused('not a valid lead domain'):
            Rule.create({'name': 'Code', 'dimension': 'job_level', 'value': 'job_level:staff',
                         'domain': "[('function', '=', __import__('os').name)]"})

    def test_rule_changes_start_a_full_pass(self):
        self.env['crm.lead.score.run'].search([]).unlink()
        self.env.ref('lead_intelligence.classification_job_staff').sequence = 99
        self.assertTrue(self.env['crm.lead.score.run'].search([('cause', '=', 'config')]))

    def test_stable_rules(self):
        Rule = self.env['crm.lead.classification.rule']
        job_rules = Rule.search([('dimension', '=', 'job_level')])
        self.assertTrue(job_rules)
        self.assertTrue(all(rule._is_stable() for rule in job_rules), 'job positions change only by a write')
        def rule(domain):
            return Rule.new({'name': 'Test', 'dimension': 'lifecycle_stage', 'value': 'lifecycle_stage:hot',
                             'domain': domain})

        for domain in ("[('score', '>=', 40)]", "[('tier_id', '!=', False)]", "[('rfm_segment', '=', 'champions')]",
                       "[('partner_id.name', 'ilike', 'acme')]", "[('tag_ids', 'any', [('name', '=', 'VIP')])]",
                       "[('stage_id.team_ids', 'in', [1])]", "[('profile_completeness', '>=', 50)]"):
            self.assertFalse(rule(domain)._is_stable(), domain)
        # crm's probability, which its PLS writes by SQL, and what crm computes from it: the trigger sees them
        for domain in ("[('probability', '>', 50)]", "[('won_status', '=', 'pending')]",
                       "[('prorated_revenue', '>', 1000)]"):
            self.assertTrue(rule(domain)._is_stable(), domain)
        # paths into stages, countries, tags... are stable: editing those records starts a full pass
        for domain in ("[('country_id.code', '=', 'CN')]", "[('stage_id.sequence', '>=', 3)]",
                       "[('tag_ids.name', '=', 'VIP'), ('expected_revenue', '>', 10)]"):
            self.assertTrue(rule(domain)._is_stable(), domain)
        Lead = self.env['crm.lead']
        # stored and computed from the lead's own partner only: recomputed when the lead is written
        self.assertTrue(Lead._is_stable_rule_field('function'))
        self.assertTrue(Lead._is_stable_rule_field('buying_signal_count'))
        self.assertFalse(Lead._is_stable_rule_field('engagement_score'), 'moves with decay, not stored')

    def test_nightly_pass_rematches_stable_rules_on_edited_leads_only(self):
        lead, edited, behind = self._classify(
            self._create_lead(function='CEO') | self._create_lead(function='CEO') | self._create_lead(function='CEO'))
        self.assertEqual({lead.job_level, edited.job_level, behind.job_level}, {'decision_maker'})
        # a change no one flags (the dirty trigger off) leaves the lead clean: the nightly pass keeps its
        # job level; the same change through write, or by SQL (the trigger flags it), is classified again
        self.env.cr.execute('ALTER TABLE crm_lead DISABLE TRIGGER lead_intelligence_flag_dirty')
        self.env.cr.execute("UPDATE crm_lead SET function = 'Software Engineer' WHERE id = %s", [lead.id])
        self.env.cr.execute('ALTER TABLE crm_lead ENABLE TRIGGER lead_intelligence_flag_dirty')
        edited.function = 'Software Engineer'
        self.env.cr.execute("UPDATE crm_lead SET function = 'Software Engineer' WHERE id = %s", [behind.id])
        self.env['crm.lead']._score_leads((lead | edited | behind).ids, 'nightly')
        self.env.invalidate_all()
        self.assertEqual((lead.job_level, edited.job_level, behind.job_level),
                         ('decision_maker', 'technical', 'technical'))
        # a configuration pass re-matches every rule on every lead
        self.env['crm.lead']._score_leads(lead.ids, 'config')
        self.env.invalidate_all()
        self.assertEqual(lead.job_level, 'technical')

    def test_records_the_rules_read_reclassify_when_edited(self):
        Run = self.env['crm.lead.score.run']
        stage = self.env['crm.stage'].create({'name': 'Negotiation', 'sequence': 5})
        Run.search([]).unlink()
        stage.name = 'Negotiating'  # no rule reads stage names
        self.assertFalse(Run.search([]))
        stage.sequence = 1  # the shipped sales-stage rules read stage sequences
        self.assertEqual(Run.search([]).cause, 'config')
        Run.search([]).unlink()
        self.env['crm.tag'].create({'name': 'VIP'}).unlink()  # no rule reads tags
        self.assertFalse(Run.search([]))
        self.env['utm.source'].create({'name': 'Fair'}).unlink()  # source names are read: the leads lose it
        self.assertEqual(Run.search([]).cause, 'config')

    def test_nightly_pass_rematches_rules_on_scores(self):
        lead = self._classify(self._create_lead(type='lead', phone='+32 2 555 01 01'))
        self.assertEqual((lead.score, lead.lifecycle_stage), (10, 'cold'))
        # the score moves (decay, a new model, points changed behind the ORM) without any write of the lead
        self.env.cr.execute('UPDATE crm_lead_fit_rule SET points = 60 WHERE id = %s', [self.rule_phone.id])
        self.env.invalidate_all()
        self.env['crm.lead']._score_leads(lead.ids, 'nightly')
        self.env.invalidate_all()
        self.assertEqual((lead.score, lead.lifecycle_stage), (60, 'mql'),
                         'lifecycle rules read the score: matched every night, on the score of the same pass')

    def test_nightly_pass_reclassifies_where_a_score_condition_flips(self):
        """At night, the score-reading dimensions are classified again on the leads on which one of
        their rules' conditions on a score flips, not on every lead whose score moved."""
        Lead = self.env['crm.lead']
        crossing = self._create_lead(type='lead', phone='+32 2 555 01 01')
        staying = self._create_lead(type='lead', phone='+32 2 555 01 02', function='CEO')
        quiet = self._create_lead(type='lead')
        leads = crossing | staying | quiet
        with self._mock_commit_progress():
            Lead._cron_rescore_all_leads()
        self.assertEqual(leads.mapped('score'), [10, 40, 0])
        self.assertEqual(leads.mapped('lifecycle_stage'), ['cold', 'mql', 'cold'])
        self.assertEqual(Lead._after_score_conditions(), [
            ('engagement_score', '>=', 25), ('engagement_score', '>=', 60), ('score', '>=', 40), ('score', '>=', 75)])
        # the phone's points move behind the ORM: both scores move by 30, only the first crosses 40
        self.env.cr.execute('UPDATE crm_lead_fit_rule SET points = 40 WHERE id = %s', [self.rule_phone.id])
        self.env.invalidate_all()
        classified = []
        classify_query = type(Lead)._classify_query

        def spy(model, query, cause, after_score=False):
            if after_score:
                classified.extend(row[0] for row in model.env.execute_query(query.select(SQL('crm_lead.id'))))
            return classify_query(model, query, cause, after_score)

        with self._mock_commit_progress(), patch.object(type(Lead), '_classify_query', spy):
            Lead._cron_rescore_all_leads()
        self.env.invalidate_all()
        self.assertEqual(leads.mapped('score'), [40, 70, 0])
        self.assertEqual(leads.mapped('lifecycle_stage'), ['mql', 'mql', 'cold'])
        self.assertEqual(set(classified) & set(leads.ids), {crossing.id},
                         'the lead whose score crossed no condition keeps its classes unread')
        # a rule reading a score other than by comparing it with a number: any move of it counts
        self.env['crm.lead.classification.rule'].create({
            'name': 'Scored at all', 'dimension': 'intent_level', 'value': 'intent_level:low', 'sequence': 1,
            'domain': "[('score', '!=', False)]"})
        self.assertIn(('score', None, None), Lead._after_score_conditions())
        self.env['crm.lead.classification.rule'].create({
            'name': 'Tier read', 'dimension': 'intent_level', 'value': 'intent_level:low', 'sequence': 2,
            'domain': "[('tier_id.sequence', '>', 0)]"})
        self.assertIn(('tier_id', None, None), Lead._after_score_conditions())

    def test_score_reading_dimensions_follow_the_score_of_the_same_pass(self):
        """New behaviour lifts the score from 0 to 100: the pass that counts it makes the lead hot,
        not the pass after (the lifecycle rules read the score the pass writes)."""
        params = self.env['ir.config_parameter'].sudo()
        params.set_param('lead_intelligence.weight_fit', 0)
        params.set_param('lead_intelligence.weight_engagement', 100)
        params.set_param('lead_intelligence.engagement_points_high', 10)
        lead = self._classify(self._create_lead(type='lead'))
        self.assertEqual((lead.score, lead.lifecycle_stage, lead.intent_level), (0, 'cold', 'low'))
        self.env['crm.lead.event']._ingest([{
            'type': 'demo_request', 'occurred_at': (datetime.now() - timedelta(hours=1)).isoformat(),
            'lead_id': lead.id, 'external_id': 'same-pass-demo'}])
        with self._mock_commit_progress():
            self.env['crm.lead.event']._cron_count_events()  # counts the event, rescores the lead: one pass
        self.env.invalidate_all()
        self.assertEqual((lead.buying_signal_count, lead.score), (1, 100))
        self.assertEqual((lead.lifecycle_stage, lead.intent_level), ('hot', 'high'))
        history = lead.classification_history_ids.filtered(lambda row: row.dimension == 'lifecycle_stage')
        # newest first: cold when first classified, hot in the pass that counted the demo request
        self.assertEqual([(row.old_label, row.new_label) for row in history], [('Cold', 'Hot'), (False, 'Cold')])


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestClassificationMultiCompany(TestLeadIntelligenceCommon):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._activate_multi_company()

    def test_company_rules_and_classes_stay_in_their_company(self):
        partner_class = self.env['crm.lead.class'].create({'name': 'C2 partners', 'company_id': self.company_2.id})
        self.env['crm.lead.classification.rule'].create({
            'name': 'C2 only', 'dimension': 'class', 'class_id': partner_class.id, 'domain': '[]', 'match_all': True,
            'company_id': self.company_2.id})
        lead_1 = self._create_lead(company_id=self.company_main.id)
        lead_2 = self.env['crm.lead'].create({'name': 'C2 lead', 'company_id': self.company_2.id})
        self.env['crm.lead']._score_leads((lead_1 + lead_2).ids, 'manual')
        self.assertFalse(lead_1.class_ids)
        self.assertEqual(lead_2.class_ids, partner_class)
        Class = self.env['crm.lead.class'].with_user(self.user_sales_leads)
        self.assertNotIn(partner_class, Class.search([]))
