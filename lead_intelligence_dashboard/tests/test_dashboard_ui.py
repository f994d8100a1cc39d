from odoo.tests import HttpCase, tagged


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestDashboardUi(HttpCase):
    """The dashboard opens in the Dashboards app and shows the database's figures."""

    def test_dashboard_tour(self):
        leads = self.env['crm.lead'].create([
            {'name': f'Dashboard tour lead {index}', 'type': 'opportunity', 'expected_revenue': 1000 * (index + 1)}
            for index in range(4)
        ])
        self.env['crm.lead']._score_leads(leads.ids, 'manual')
        leads[:2].action_set_won()
        leads[2].action_set_lost()
        totals = self.env['crm.lead.tier.report']._read_group([], [], ['lead_count:sum', 'won_revenue:sum'])
        self.assertGreaterEqual(totals[0][1], 3000, 'the won leads bring revenue the dashboard must show')
        self.start_tour('/odoo/action-spreadsheet_dashboard.ir_actions_dashboard_action',
                        'lead_intelligence_dashboard_tour', login='admin')
