from odoo.tests import tagged

from .common import TestLeadIntelligenceCommon


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestQueryCounts(TestLeadIntelligenceCommon):
    """No query per lead: the cost of a batch does not grow with its size."""

    def _count_queries(self, function):
        self.env.flush_all()
        self.env.invalidate_all()
        before = self.cr.sql_log_count
        function()
        self.env.flush_all()
        return self.cr.sql_log_count - before

    def test_write_adds_no_query_per_lead(self):
        few = self.env['crm.lead'].create([{'name': f'Few {i}'} for i in range(2)])
        many = self.env['crm.lead'].create([{'name': f'Many {i}'} for i in range(40)])
        self.env['crm.lead']._score_leads((few + many).ids, 'manual')
        # the dirty flag rides in the UPDATE crm's write already runs
        for leads in (few, many):
            leads.invalidate_recordset()
        few_count = self._count_queries(lambda: few.write({'function': 'CEO'}))
        many_count = self._count_queries(lambda: many.write({'function': 'CEO'}))
        self.assertEqual(few_count, many_count)
        self.assertTrue(all(many.mapped('score_dirty')))

    def test_scoring_costs_the_same_queries_for_10_or_200_leads(self):
        ten = self.env['crm.lead'].create([
            {'name': f'Ten {i}', 'function': 'CEO' if i % 2 else 'Student'} for i in range(10)])
        two_hundred = self.env['crm.lead'].create([
            {'name': f'Many {i}', 'function': 'CEO' if i % 2 else 'Student'} for i in range(200)])
        ten_count = self._count_queries(lambda: self.env['crm.lead']._score_leads(ten.ids, 'manual'))
        many_count = self._count_queries(lambda: self.env['crm.lead']._score_leads(two_hundred.ids, 'manual'))
        self.assertEqual(ten_count, many_count)
        self.assertTrue(all(two_hundred.mapped('tier_id')))
