from odoo.tests import tagged

from .common import TestLeadIntelligenceCommon

MEASURES = ['lead_count:sum', 'open_count:sum', 'won_count:sum', 'lost_count:sum', 'closed_count:sum',
            'conversion_rate:avg', 'median_days_to_win:avg', 'days_to_win:avg', 'won_revenue:sum', 'deal_size:avg']


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestTierReport(TestLeadIntelligenceCommon):
    """Tier performance: each figure against leads whose conversion, cycle and revenue are known."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.leads = cls.env['crm.lead']
        # tier A: won in 10, 20 and 60 days (1,000, 3,000 and 2,000), one lost, one open
        # tier B: won in 40 days (500), three lost, one open
        for tier, outcomes in ((cls.tier_a, [('won', 10, 1000), ('won', 20, 3000), ('won', 60, 2000), ('lost',),
                                             ('open',)]),
                               (cls.tier_b, [('won', 40, 500), ('lost',), ('lost',), ('lost',), ('open',)])):
            for number, (outcome, *cycle) in enumerate(outcomes):
                lead = cls.env['crm.lead'].create({
                    'name': f'{tier.name} {number}', 'team_id': cls.sales_team_1.id,
                    'user_id': cls.user_sales_leads.id, 'expected_revenue': cycle[1] if cycle else 0,
                    'job_level': 'decision_maker' if number % 2 else 'staff',
                })
                if outcome == 'won':
                    lead.action_set_won()
                elif outcome == 'lost':
                    lead.action_set_lost()
                cls.env.flush_all()
                # the tier, creation and closing as the figures need them (the pass would move the tier)
                cls.env.cr.execute(
                    """UPDATE crm_lead SET tier_id = %s,
                              date_closed = CASE WHEN won_status != 'pending' THEN TIMESTAMP '2026-06-30 12:00' END,
                              create_date = TIMESTAMP '2026-06-30 12:00' - make_interval(days => %s)
                        WHERE id = %s""",
                    [tier.id, cycle[0] if cycle else 5, lead.id])
                cls.leads |= lead
        # an archived lead that is not lost is not in the figures
        archived = cls.env['crm.lead'].create({'name': 'Archived', 'team_id': cls.sales_team_1.id})
        archived.action_archive()
        cls.leads |= archived
        cls.env.invalidate_all()
        cls.Report = cls.env['crm.lead.tier.report']
        cls.domain = [('lead_id', 'in', cls.leads.ids)]

    def _figures(self, groupby, domain=()):
        groups = self.Report._read_group([*self.domain, *domain], groupby, MEASURES)
        return {group[0] if groupby else None: list(group[len(groupby):]) for group in groups}

    def assertFigures(self, figures, expected):
        names = [measure.split(':')[0] for measure in MEASURES]
        for name, value, wanted in zip(names, figures, expected, strict=True):
            self.assertAlmostEqual(value, wanted, places=6, msg=name)

    def test_figures_per_tier_and_in_total(self):
        figures = self._figures(['tier_id'])
        self.assertEqual(set(figures), {self.tier_a, self.tier_b}, 'the archived lead is left out')
        # leads, open, won, lost, closed, conversion %, median and average days to win, revenue, deal size
        self.assertFigures(figures[self.tier_a], [5, 1, 3, 1, 4, 75.0, 20.0, 30.0, 6000.0, 2000.0])
        self.assertFigures(figures[self.tier_b], [5, 1, 1, 3, 4, 25.0, 40.0, 40.0, 500.0, 500.0])
        # the total is not a sum or an average of the tiers' rates and medians
        self.assertFigures(self._figures([])[None], [10, 2, 4, 4, 8, 50.0, 30.0, 32.5, 6500.0, 1625.0])

    def test_revenue_in_one_currency_as_the_pivot_reads_it(self):
        """A lead of no company counts in the main company's currency, and the average deal size stays
        an average: the pivot shows a monetary measure as a converted sum when its currencies differ."""
        self.leads[:2].company_id = False
        self.env.flush_all()
        Report = self.env['crm.lead.tier.report']
        [(currencies, revenue, deal_size)] = Report._read_group(
            [('lead_id', 'in', self.leads.ids)], [],
            ['company_currency:array_agg_distinct', 'won_revenue:sum', 'deal_size:avg'])
        self.assertEqual(currencies, [self.env.company.currency_id.id])
        self.assertEqual((revenue, deal_size), (6500, 6500 / 4))
        self.assertNotIn('currency_field', Report.fields_get(['deal_size'])['deal_size'],
                         'the pivot would replace the average by a converted sum')

    def test_figures_per_salesperson_team_and_dimension(self):
        (self.leads[:2]).write({'user_id': self.user_sales_manager.id})
        self.env.flush_all()
        by_user = self._figures(['user_id'])
        # the manager has tier A's first two leads, both won in 10 and 20 days
        self.assertFigures(by_user[self.user_sales_manager], [2, 0, 2, 0, 2, 100.0, 15.0, 15.0, 4000.0, 2000.0])
        self.assertFigures(by_user[self.user_sales_leads], [8, 2, 2, 4, 6, 100 / 3, 50.0, 50.0, 2500.0, 1250.0])
        self.assertEqual(set(self._figures(['team_id'])), {self.sales_team_1})
        by_level = self._figures(['job_level'])
        # decision makers are the odd-numbered leads: A's won in 20 days (3,000) and its lost one, two of B's lost ones
        self.assertFigures(by_level['decision_maker'], [4, 0, 1, 3, 4, 25.0, 20.0, 20.0, 3000.0, 3000.0])

    def test_period_and_cohort_by_month(self):
        closed_in_june = self._figures(['tier_id'], [('date_closed', '>=', '2026-06-01'),
                                                     ('date_closed', '<', '2026-07-01')])
        self.assertEqual(closed_in_june[self.tier_a][:5], [4, 0, 3, 1, 4])
        created_in_june = self._figures(['tier_id'], [('create_date', '>=', '2026-06-01')])
        # created in June: A's lead won in 10 and 20 days, its lost and open ones (5 days); all of B but its won
        self.assertEqual(created_in_june[self.tier_a][:5], [4, 1, 2, 1, 3])
        self.assertEqual(created_in_june[self.tier_b][:5], [4, 1, 0, 3, 3])
        cohorts = self.Report._read_group(self.domain, ['create_date:month', 'tier_id'], ['conversion_rate:avg'])
        rates = {(month.month, tier.name): rate for month, tier, rate in cohorts}
        # A: created in May and won; in June two won and one lost. B: created in May and won; in June all lost
        self.assertEqual(rates[(5, self.tier_a.name)], 100.0)
        self.assertAlmostEqual(rates[(6, self.tier_a.name)], 200 / 3)
        self.assertEqual(rates[(5, self.tier_b.name)], 100.0)
        self.assertEqual(rates[(6, self.tier_b.name)], 0.0)

    def test_classes_count_each_lead_once_in_total(self):
        retail, online = self.env['crm.lead.class'].create([{'name': 'Retail'}, {'name': 'Online'}])
        self.leads[0].class_ids = retail | online
        self.leads[5].class_ids = retail
        self.env.flush_all()
        groups = self.Report._read_grouping_sets(self.domain, [['class_ids'], []], ['lead_count:sum', 'won_count:sum'])
        by_class = {lead_class: counts for lead_class, *counts in groups[0]}
        self.assertEqual(by_class[retail], [2, 2])
        self.assertEqual(by_class[online], [1, 1])
        self.assertEqual(groups[1], [(10, 4)])

    def test_score_band_and_views(self):
        self.env['crm.lead']._score_leads(self.leads.ids, 'manual')
        self.env.invalidate_all()
        rows = self.Report.search(self.domain)
        for row in rows:
            self.assertEqual(int(row.score_band), min(int(row.lead_id.score // 10), 9) * 10)
        views = self.Report.get_views([(False, 'pivot'), (False, 'graph'), (False, 'list'), (False, 'search')])
        self.assertIn('conversion_rate', views['views']['pivot']['arch'])
        trend = self.env.ref('lead_intelligence.crm_lead_tier_report_view_graph_trend')
        self.assertIn('create_date', self.Report.get_view(trend.id, 'graph')['arch'])

    def test_segments_are_dimensions_of_the_report(self):
        """RFM segment, ABC class, account tier and completeness band group the leads' figures."""
        self.env.flush_all()
        self.env.cr.execute(
            """UPDATE crm_lead SET rfm_segment = 'champions', abc_class = 'a', account_tier_id = %s
                WHERE id = %s""", [self.tier_a.id, self.leads[0].id])
        self.env.invalidate_all()
        groups = dict(self.Report._read_group(self.domain, ['rfm_segment'], ['lead_count:sum']))
        self.assertEqual(groups, {'champions': 1, False: self.Report.search_count(self.domain) - 1})
        self.assertEqual(dict(self.Report._read_group(self.domain, ['account_tier_id'], ['lead_count:sum']))[
            self.tier_a], 1)
        for row in self.Report.search(self.domain):
            completeness = row.lead_id.profile_completeness
            self.assertEqual(int(row.completeness_band), min(completeness // 25, 3) * 25)
        search = self.Report.get_views([(False, 'search')])['views']['search']['arch']
        self.assertIn('completeness_band', search)

    def test_salesperson_sees_own_leads(self):
        self.leads[0].user_id = self.user_sales_salesman
        self.env.flush_all()
        rows = self.Report.with_user(self.user_sales_salesman).search(self.domain)
        self.assertEqual(rows.lead_id, self.leads[0])
