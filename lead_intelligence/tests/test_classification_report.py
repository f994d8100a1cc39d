from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo.tests import tagged

from .common import TestLeadIntelligenceCommon

RULE_MODEL = 'crm.lead.classification.rule'


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestClassificationReport(TestLeadIntelligenceCommon):
    """The classification statistics: one row per lead and dimension, with the outcome."""

    def _report(self, leads, **domain):
        return self.env['crm.lead.classification.report'].search(
            [('lead_id', 'in', leads.ids), *[(key, '=', value) for key, value in domain.items()]])

    def test_rows_and_outcome_per_value(self):
        Class = self.env['crm.lead.class']
        retail = Class.create({'name': 'Retail'})
        online = Class.create({'name': 'Online', 'parent_id': retail.id})
        self.env[RULE_MODEL].create([
            {'name': 'Shops', 'dimension': 'class', 'class_id': retail.id, 'domain': "[('name', 'ilike', 'shop')]"},
            {'name': 'Web shops', 'dimension': 'class', 'class_id': online.id,
             'domain': "[('name', 'ilike', 'web shop')]"},
        ])
        industry = self.env['res.partner.industry'].create({'name': 'Bicycles'})
        ceo_won = self._create_lead(name='Web shop', function='CEO', industry_id=industry.id)
        ceo_lost = self._create_lead(name='Corner shop', function='CEO')
        cto_open = self._create_lead(name='Factory', function='CTO')
        leads = ceo_won | ceo_lost | cto_open
        self.env['crm.lead']._score_leads(leads.ids, 'manual')
        ceo_won.action_set_won()
        ceo_lost.action_set_lost()
        self.env.flush_all()

        # 7 single-valued dimensions per lead, plus one row per class (an empty one without class)
        self.assertEqual(len(self._report(ceo_won)), 7 + 2)
        self.assertEqual(len(self._report(cto_open)), 7 + 1)
        self.assertEqual(self._report(ceo_won, dimension='class').mapped('value'), ['Retail', 'Retail / Online'])
        self.assertFalse(self._report(cto_open, dimension='class').value)
        self.assertEqual(self._report(ceo_won, dimension='industry').value, 'Bicycles')
        self.assertFalse(self._report(ceo_lost, dimension='industry').value)

        groups = self.env['crm.lead.classification.report']._read_group(
            [('lead_id', 'in', leads.ids), ('dimension', '=', 'job_level')], ['value'],
            ['lead_count:sum', 'won:sum', 'lost:sum', 'closed:sum', 'conversion_rate:avg', 'score:avg'])
        by_value = {value: counts for value, *counts in groups}
        self.assertEqual(by_value['Decision Maker'][:5], [2, 1, 1, 2, 50.0])
        self.assertEqual(by_value['Technical Lead'][:5], [1, 0, 0, 0, False])
        self.assertAlmostEqual(by_value['Technical Lead'][5], cto_open.score)
        self.assertEqual(by_value['Decision Maker'][5], (ceo_won.score + ceo_lost.with_context(
            active_test=False).score) / 2)

    def test_values_by_label_in_the_users_language(self):
        self.env['res.lang']._activate_lang('zh_CN')
        self.env['ir.module.module']._load_module_terms(['lead_intelligence'], ['zh_CN'])
        lead = self._create_lead(name='Boss', function='CEO')
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.env.flush_all()
        Report = self.env['crm.lead.classification.report']
        domain = [('lead_id', '=', lead.id), ('dimension', '=', 'job_level')]
        self.assertEqual(Report._read_group(domain, ['value'], ['lead_count:sum']), [('Decision Maker', 1)])
        chinese = Report.with_context(lang='zh_CN')
        label = dict(self.env['crm.lead']._fields['job_level']._description_selection(chinese.env))['decision_maker']
        self.assertNotEqual(label, 'Decision Maker')
        self.assertEqual(chinese._read_group(domain, ['value'], ['lead_count:sum']), [(label, 1)])

    def test_total_counts_each_lead_once(self):
        """Leads (3, one won, one lost) have a row in each of 8 dimensions: the total, a group by
        tier or a search on a value still count each lead once; a group by dimension does not."""
        self.env['crm.lead.class'].create({'name': 'Everyone'})
        leads = (self._create_lead(name='Won', function='CEO') | self._create_lead(name='Lost', function='CTO')
                 | self._create_lead(name='Open', function='CEO'))
        self.env['crm.lead']._score_leads(leads.ids, 'manual')
        leads[0].action_set_won()
        leads[1].action_set_lost()
        self.env.flush_all()
        Report = self.env['crm.lead.classification.report']
        domain = [('lead_id', 'in', leads.ids)]
        measures = ['lead_count:sum', 'won:sum', 'closed:sum', 'conversion_rate:avg']
        self.assertEqual(Report._read_group(domain, [], measures), [(3, 1, 2, 50.0)])
        sets = Report._read_grouping_sets(domain, [['dimension', 'value'], ['dimension'], []], measures)
        self.assertEqual(sets[2], [(3, 1, 2, 50.0)], 'the total row of the pivot counts each lead once')
        self.assertIn(('job_level', 3, 1, 2, 50.0), sets[1])
        # as the pivot asks (ordered by its groupings)
        pivot = Report.formatted_read_grouping_sets(domain, [['dimension', 'value'], ['dimension'], []], measures)
        self.assertEqual(pivot[2][0]['lead_count:sum'], 3)
        self.assertEqual(sum(group['lead_count:sum'] for group in pivot[1]), 3 * 8)
        self.assertEqual(sum(counts[0] for _dimension, *counts in sets[1]), 3 * 8)
        by_tier = Report._read_group(domain, ['tier_id'], ['lead_count:sum'])
        self.assertEqual(sum(count for _tier, count in by_tier), 3)
        # filtered on a value: the leads with that value, once each
        ceos = Report._read_grouping_sets([*domain, ('value', '=', 'Decision Maker')], [['dimension'], []], measures)
        self.assertEqual(ceos[1], [(2, 1, 1, 100.0)])
        self.assertEqual(ceos[0], [('job_level', 2, 1, 1, 100.0)])

    def test_pivot_figures_agree_with_the_rows(self):
        """The pivot's groupings, read from the leads' rows of the tier report, give the figures the
        report's own rows (one per lead and dimension value) add up to, per team and in every order."""
        Class = self.env['crm.lead.class']
        retail, online = Class.create([{'name': 'Retail'}, {'name': 'Online'}])
        industry = self.env['res.partner.industry'].create({'name': 'Bicycles'})
        team_2 = self.sales_team_1.copy({'name': 'Second team'})
        specs = [
            ('CEO', industry, retail | online, self.sales_team_1, 'won'),
            ('CEO', industry, retail, team_2, 'lost'),
            ('CTO', industry, online, team_2, 'open'),
            ('Student', False, Class, self.sales_team_1, 'won'),
            ('Buyer', False, retail, self.sales_team_1, 'lost'),
            ('CEO', False, Class, team_2, 'archived'),
        ]
        leads = self.env['crm.lead']
        for index, (function, lead_industry, classes, team, _outcome) in enumerate(specs):
            lead = self._create_lead(
                name=f'Lead {index}', function=function, industry_id=lead_industry.id if lead_industry else False,
                team_id=team.id, phone='+32 2 000 00 0%s' % index if index % 2 else False)
            lead.class_ids = classes
            leads |= lead
        self.env['crm.lead']._score_leads(leads.ids, 'manual')
        for lead, (*_spec, outcome) in zip(leads, specs, strict=True):
            if outcome == 'won':
                lead.action_set_won()
            elif outcome == 'lost':
                lead.action_set_lost()
            elif outcome == 'archived':
                lead.write({'active': False, 'probability': 50})
        self.env.flush_all()
        Report = self.env['crm.lead.classification.report']
        domain = [('lead_id', 'in', leads.ids)]
        rows = Report.search(domain)
        self.assertNotIn(leads[5], rows.lead_id, 'an archived lead that is not lost is left out, as in the tier report')

        def expected(keys):
            groups = {}
            for row in rows:
                group = groups.setdefault(tuple(row[key] for key in keys), [0, 0, 0, 0, []])
                group[0] += 1
                group[1] += row.won
                group[2] += row.lost
                group[3] += row.closed
                group[4].append(row.score)
            return {key: [count, won, lost, closed, 100.0 * won / closed if closed else None,
                          sum(scores) / len(scores)]
                    for key, (count, won, lost, closed, scores) in groups.items()}

        measures = ['lead_count:sum', 'won:sum', 'lost:sum', 'closed:sum', 'conversion_rate:avg', 'score:avg']
        by_value, by_dimension, total = Report._read_grouping_sets(
            domain, [['dimension', 'value'], ['dimension'], []], measures)
        for groups, keys in ((by_value, ['dimension', 'value']), (by_dimension, ['dimension'])):
            rounded = {key: [*figures[:5], round(figures[5], 6)] for key, figures in expected(keys).items()}
            self.assertEqual({tuple(group[:len(keys)]): [*group[len(keys):-1], round(group[-1], 6)]
                              for group in groups}, rounded)
        self.assertEqual(total[0][:4], (5, 2, 2, 4), 'the total counts each lead once')
        self.assertEqual([group[:2] for group in by_value], sorted(
            (group[:2] for group in by_value), key=lambda key: (key[0], not key[1], key[1] or '')),
            'in the order of the report: by dimension, then value, empty last')
        self.assertEqual(len([group for group in by_value if group[0] == 'class']), 3, 'Retail, Online, none')
        per_team = Report._read_group(domain, ['team_id', 'dimension', 'value'], ['lead_count:sum'])
        self.assertEqual({(team, dimension, value): count for team, dimension, value, count in per_team}, {
            key: figures[0] for key, figures in expected(['team_id', 'dimension', 'value']).items()})
        self.assertEqual(next(team for team, *_rest in per_team), (self.sales_team_1 | team_2).sorted()[0])
        self.assertEqual(Report._read_group([('lead_id', '=', 0)], [], ['lead_count:sum', 'conversion_rate:avg']),
                         [(0, None)], 'the total of no lead')
        descending = Report._read_group(domain, ['dimension'], ['lead_count:sum'], order='dimension desc')
        self.assertEqual([dimension for dimension, _count in descending],
                         sorted({row.dimension for row in rows}, reverse=True))

    def test_views_and_salesman_access(self):
        Report = self.env['crm.lead.classification.report']
        views = Report.get_views([(False, 'pivot'), (False, 'graph'), (False, 'search')])
        self.assertEqual(set(views['views']), {'pivot', 'graph', 'search'})
        self.assertIn('chatter', self.env[RULE_MODEL].get_views([(False, 'form')])['views']['form']['arch'])
        self.assertIn('won', views['views']['pivot']['arch'])
        action = self.env.ref('lead_intelligence.crm_lead_classification_report_action')
        self.assertEqual(action.res_model, Report._name)
        lead = self._create_lead(name='Mine', function='CEO', user_id=self.user_sales_salesman.id)
        other = self._create_lead(name='Not mine', function='CEO', user_id=self.user_sales_manager.id)
        self.env.flush_all()
        rows = Report.with_user(self.user_sales_salesman).search([('lead_id', 'in', (lead | other).ids)])
        self.assertEqual(rows.lead_id, lead, 'a salesperson sees the statistics of their own leads')


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestClassificationAlerts(TestLeadIntelligenceCommon):
    """The daily classification quality check and its to-dos for the managers."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # only the leads of each test are open
        cls.env['crm.lead'].search([]).write({'active': False})
        cls.manager = cls.env.ref('base.user_admin')
        cls.industry_rule = cls.env[RULE_MODEL].create({
            'name': 'Never matches', 'dimension': 'industry', 'sequence': 1,
            'industry_id': cls.env['res.partner.industry'].create({'name': 'Unused'}).id,
            'domain': "[('name', '=', 'no lead has this name')]",
        })
        cls.start = datetime.now()

    def _run(self, days):
        with freeze_time(self.start + timedelta(days=days)):
            self.env[RULE_MODEL]._cron_classification_quality_alerts()

    def _activities(self, rule, summary):
        return self.env['mail.activity'].search([
            ('res_model', '=', RULE_MODEL), ('res_id', '=', rule.id), ('summary', '=like', f'{summary}%')])

    def test_idle_rules(self):
        Rule = self.env[RULE_MODEL]
        idle = Rule.create({'name': 'Idle', 'dimension': 'job_level', 'value': 'job_level:staff',
                            'domain': "[('name', '=', 'no lead has this name')]"})
        recent = Rule.create({'name': 'Recent', 'dimension': 'job_level', 'value': 'job_level:manager',
                              'domain': "[('name', '=', 'no lead has this name')]"})
        recent.last_match_date = self.start + timedelta(days=25)
        summary = 'Classification rule idle for 30 days'
        self._run(10)
        self.assertFalse(self._activities(idle, summary), 'created 10 days ago: not idle yet')
        self._run(31)
        activities = self._activities(idle, summary)
        self.assertIn(self.manager, activities.user_id)
        self.assertEqual(activities.activity_type_id, self.env.ref('mail.mail_activity_data_todo'))
        self.assertIn('Idle', activities[0].note)
        self.assertFalse(self._activities(recent, summary), 'matched 6 days ago')
        self._run(32)
        self.assertEqual(self._activities(idle, summary), activities, 'no second to-do while one is open')
        activities.action_feedback('Rule fixed')
        self._run(33)
        self.assertTrue(self._activities(idle, summary), 'still idle: a new to-do once the first is done')

    def test_share_change(self):
        self.env['ir.config_parameter'].sudo().set_param('lead_intelligence.alert_rule_idle_days', 0)
        Industry = self.env['res.partner.industry']
        rising, steady = Industry.create({'name': 'Rising'}), Industry.create({'name': 'Steady'})
        with freeze_time(self.start + timedelta(days=1)):
            self._create_lead(industry_id=rising.id)
            for _index in range(3):
                self._create_lead(industry_id=steady.id)
        self._run(1)
        self.assertFalse(self._activities(self.industry_rule, 'Industry "Rising"'), 'nothing to compare with yet')
        snapshot = self.env['crm.lead.classification.snapshot'].search([('value', '=', 'Steady')])
        self.assertEqual(snapshot.count, 3)
        for _index in range(3):
            self._create_lead(industry_id=rising.id)
        self._run(2)  # Rising: 25% -> 57%, Steady: 75% -> 43%, factor 2
        activities = self._activities(self.industry_rule, 'Industry "Rising": share of open leads changed')
        self.assertIn(self.manager, activities.user_id)
        self.assertIn('from 25.0% to 57.1%', activities[0].note)
        self.assertFalse(self._activities(self.industry_rule, 'Industry "Steady"'))
        self._run(2)
        self.assertEqual(
            self._activities(self.industry_rule, 'Industry "Rising"'), activities, 'no duplicate on a second run')
        self.assertEqual(len(self.env['crm.lead.classification.snapshot'].search([
            ('value', '=', 'Rising'), ('date', '=', (self.start + timedelta(days=2)).date())])), 1)

    def test_missing_values(self):
        Params = self.env['ir.config_parameter'].sudo()
        Params.set_param('lead_intelligence.alert_rule_idle_days', 0)
        industry = self.env['res.partner.industry'].create({'name': 'Known'})
        self._create_lead(industry_id=industry.id)
        for _index in range(3):
            self._create_lead()
        # a dimension without any active rule has nowhere to put its alert
        self.env[RULE_MODEL].search([('dimension', '=', 'source_type')]).action_archive()
        summary = 'Industry: many open leads without a value'
        Params.set_param('lead_intelligence.alert_missing_share', 80)
        self._run(1)
        self.assertFalse(self._activities(self.industry_rule, summary), '75% missing, alert above 80%')
        Params.set_param('lead_intelligence.alert_missing_share', 50)
        self._run(1)
        activities = self._activities(self.industry_rule, summary)
        self.assertIn(self.manager, activities.user_id)
        self.assertIn('75.0%', activities[0].note)
        self._run(2)
        self.assertEqual(self._activities(self.industry_rule, summary), activities, 'no duplicate')
        self.assertFalse(self.env['mail.activity'].search([
            ('res_model', '=', RULE_MODEL), ('summary', '=like', 'Source Type:%')]))
