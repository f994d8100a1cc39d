from datetime import datetime, timedelta

from odoo.exceptions import ValidationError
from odoo.tests import tagged
from odoo.tools import SQL

from .common import TestLeadIntelligenceCommon


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestRfm(TestLeadIntelligenceCommon):
    """RFM quintiles and segments of open leads and customers, and the customers' ABC classes."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # only this test's leads
        cls.env['crm.lead'].with_context(active_test=False).search([]).unlink()

    def _set(self, leads, **columns):
        """Write what the passes write by SQL (the last counted event, the closing date)."""
        self.env.flush_all()
        for name, values in columns.items():
            self.env.cr.execute(SQL('UPDATE crm_lead SET %s = data.value FROM unnest(%s::int[], %s::timestamp[]) '
                                    'AS data(id, value) WHERE crm_lead.id = data.id',
                                    SQL.identifier(name), leads.ids, values))
        self.env.invalidate_all()

    def _engagement(self, leads, units):
        type_id = self.env['crm.lead.event.type'].search([], limit=1).id
        self.env['crm.lead.engagement'].create([
            {'lead_id': lead.id, 'type_id': type_id, 'units': unit, 'ref_date': datetime.now() - timedelta(days=1)}
            for lead, unit in zip(leads, units, strict=True) if unit])

    def test_lead_quintiles_and_segments(self):
        now = datetime.now()
        # ten leads: recency, frequency and revenue all rising with the index
        leads = self.env['crm.lead'].concat(*(
            self._create_lead(name=f'RFM {index}', expected_revenue=1000 * (index + 1)) for index in range(10)))
        self._set(leads, last_engagement_date=[now - timedelta(days=100 - 10 * index) for index in range(10)])
        self._engagement(leads, list(range(10)))
        written = self.env['crm.lead']._refresh_rfm()
        self.assertEqual(written['leads'], 10)
        # percent ranks 0, 1/9 ... 1: quintiles 1 1 2 2 3 3 4 4 5 5
        self.assertEqual(leads.mapped('rfm_recency'), [1, 1, 2, 2, 3, 3, 4, 4, 5, 5])
        self.assertEqual(leads.mapped('rfm_frequency'), [1, 1, 2, 2, 3, 3, 4, 4, 5, 5])
        self.assertEqual(leads.mapped('rfm_monetary'), [1, 1, 2, 2, 3, 3, 4, 4, 5, 5])
        self.assertEqual(leads.mapped('rfm_segment'), ['lost', 'lost', 'hibernating', 'hibernating',
                                                       'loyal', 'loyal', 'champions', 'champions',
                                                       'champions', 'champions'])
        # a lead never engaged is the least recent; equal values share a quintile
        quiet = self._create_lead(name='Quiet', expected_revenue=1000)
        self.env['crm.lead']._refresh_rfm()
        self.assertEqual((quiet.rfm_recency, quiet.rfm_monetary), (1, leads[0].rfm_monetary))
        # a recent lead with little: new
        self._set(quiet, last_engagement_date=[now])
        self.env['crm.lead']._refresh_rfm()
        self.assertEqual((quiet.rfm_recency, quiet.rfm_segment), (5, 'new'))
        # nothing moved: nothing written
        self.assertEqual(self.env['crm.lead']._refresh_rfm()['leads'], 0)

    def test_quintiles_are_those_of_percent_rank(self):
        """The quintiles cut from each kind of value sorted alone are the window function's, ties,
        leads never engaged and a company of one lead included."""
        now = datetime.now()
        revenues = [0, 0, 500, 500, 500, 1000, 2500, 2500, 4000, 9000, 9000, 9000, 12000] * 3
        leads = self.env['crm.lead'].concat(*(
            self._create_lead(name=f'Tie {index}', expected_revenue=revenue) for index, revenue in enumerate(revenues)))
        days = [None if index % 7 == 0 else index % 5 for index in range(len(leads))]
        self._set(leads, last_engagement_date=[None if day is None else now - timedelta(days=day) for day in days])
        self._engagement(leads, [index % 4 for index in range(len(leads))])
        company_2 = self.env['res.company'].create({'name': 'RFM company of one'})
        alone = self.env['crm.lead'].create({'name': 'Alone', 'company_id': company_2.id, 'expected_revenue': 5})
        self._set(alone, last_engagement_date=[now])
        self.env['crm.lead']._refresh_rfm()

        def reference(order_by):
            return dict(self.env.execute_query(SQL(
                """SELECT id, LEAST(5, 1 + floor(5 * percent_rank() OVER (PARTITION BY company_id ORDER BY %s)))::int
                     FROM crm_lead WHERE active AND won_status = 'pending'""", order_by)))
        everyone = leads | alone
        self.assertEqual({lead.id: lead.rfm_monetary for lead in everyone},
                         reference(SQL('COALESCE(expected_revenue, 0)')))
        self.assertEqual({lead.id: lead.rfm_recency for lead in everyone},
                         reference(SQL('last_engagement_date ASC NULLS FIRST')))
        frequency = SQL("""(SELECT COALESCE(sum(units), 0) FROM crm_lead_engagement e
                             WHERE e.lead_id = crm_lead.id
                               AND e.ref_date >= now() at time zone 'UTC' - interval '90 days')""")
        self.assertEqual({lead.id: lead.rfm_frequency for lead in everyone}, reference(frequency))
        self.assertEqual((alone.rfm_recency, alone.rfm_frequency, alone.rfm_monetary), (1, 1, 1))
        self.assertEqual(len(set(leads.mapped('rfm_monetary'))), 5)

    def test_customers_rfm_and_abc_cut_offs(self):
        now = datetime.now()
        # won revenue: 50 + 30 + 10 + 6 + 4 (of 100): A while the revenue before is under 80 %,
        # B under 95 %: A, A, B (80 before), B (90), C (96)
        revenues = [50000, 30000, 10000, 6000, 4000]
        customers = self.env['res.partner'].create([{'name': f'Customer {index}', 'is_company': True}
                                                    for index in range(5)])
        contact = self.env['res.partner'].create({'name': 'Buyer', 'parent_id': customers[0].id})
        leads = self.env['crm.lead']
        for index, (customer, revenue) in enumerate(zip(customers, revenues, strict=True)):
            partner = contact if index == 0 else customer
            leads |= self._create_lead(name=f'Deal {index}', partner_id=partner.id, expected_revenue=revenue)
        leads.action_set_won()
        self._set(leads, date_closed=[now - timedelta(days=10 * index) for index in range(5)])
        old = self._create_lead(name='Old deal', partner_id=customers[4].id, expected_revenue=900000)
        old.action_set_won()
        self._set(old, date_closed=[now - timedelta(days=400)])
        open_lead = self._create_lead(name='Next deal', partner_id=contact.id)
        written = self.env['crm.lead']._refresh_rfm()
        self.assertEqual(customers.mapped('abc_class'), ['a', 'a', 'b', 'b', 'c'],
                         'the deal closed before the ABC period does not count')
        self.assertEqual(open_lead.abc_class, 'a', "a lead reads its company's class")
        self.assertEqual(written['customers'], 5)
        self.assertEqual(customers[0].rfm_recency, 5)
        self.assertEqual(customers.mapped('rfm_frequency'), [1] * 5, 'one deal each in the window: one quintile')
        self.assertEqual((customers[0].rfm_monetary, customers[0].rfm_segment), (5, 'loyal'))
        self.assertFalse(contact.rfm_segment, 'the customer is the commercial entity')
        # a narrower class A
        self.env['ir.config_parameter'].sudo().set_param('lead_intelligence.abc_a_share', 50)
        self.env['crm.lead']._refresh_rfm()
        self.assertEqual(customers.mapped('abc_class'), ['a', 'b', 'c', 'c', 'c'])
        # the open lead reads its account's class in the same refresh; without a contact, none
        self.assertEqual(open_lead.abc_class, 'a')
        open_lead.partner_id = False
        written = self.env['crm.lead']._refresh_rfm()
        self.assertEqual((open_lead.abc_class, written['lead_abc']), (False, 1))
        self.assertEqual(self.env['crm.lead']._refresh_rfm()['lead_abc'], 0, 'nothing moved: nothing written')

    def test_a_fit_rule_on_the_segment_and_the_nightly_refresh(self):
        self.env['crm.lead.fit.rule'].create({
            'name': 'Champions', 'domain': "[('rfm_segment', '=', 'champions')]", 'points': 35})
        leads = self.env['crm.lead'].concat(*(
            self._create_lead(name=f'Night {index}', expected_revenue=1000 * (index + 1)) for index in range(5)))
        self._set(leads, last_engagement_date=[datetime.now() - timedelta(days=5 - index) for index in range(5)])
        self._engagement(leads, [1, 2, 3, 4, 5])
        with self._mock_commit_progress():
            self.env['crm.lead']._cron_rescore_all_leads()
        self.assertEqual(leads[-1].rfm_segment, 'champions', 'the full pass refreshed the segments first')
        self.assertEqual(leads[-1].score, 35, 'the fit rule read the segment of the same pass')
        self.assertEqual(leads[0].score, 0)

    def test_settings_checked_and_views_load(self):
        with self.assertRaises(ValidationError):
            self.env['res.config.settings'].create({'lead_intelligence_abc_a_share': 90,
                                                     'lead_intelligence_abc_b_share': 10})
        self.env['res.partner'].get_views([(False, 'form'), (False, 'search')])
        self.env['crm.lead'].get_views([(False, 'form'), (False, 'search')])
        self.env['res.config.settings'].get_views([(False, 'form')])


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestSegmentExplanation(TestLeadIntelligenceCommon):

    def test_the_explanation_names_the_lead_s_segments(self):
        account = self.env['res.partner'].create({'name': 'Segmented Inc', 'is_company': True})
        segmented, plain = self._create_lead(name='Segmented', email_from='s@segments.example', phone='+32 2 000',
                                             partner_id=account.id), \
            self._create_lead(name='Plain')
        self.env.flush_all()
        self.env.cr.execute(SQL(
            """UPDATE crm_lead SET rfm_segment = 'champions', abc_class = 'a', account_tier_id = %s
                WHERE id = %s""", self.tier_a.id, segmented.id))
        self.env.cr.execute(SQL('UPDATE res_partner SET account_score = 72 WHERE id = %s', account.id))
        self.env.invalidate_all()
        text = str(segmented.score_explanation)
        self.assertIn('RFM: Champions · ABC: A · Account: 72 (Hot)', text)
        self.assertIn(f'Profile {segmented.profile_completeness} % complete', text)
        plain_text = str(plain.score_explanation)
        self.assertNotIn('RFM:', plain_text)
        self.assertIn(f'Profile {plain.profile_completeness} % complete', plain_text)
