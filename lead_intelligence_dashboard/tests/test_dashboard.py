import json

from odoo.tests import TransactionCase, tagged


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestDashboard(TransactionCase):
    """The dashboard ships in the Dashboards app and reads the addon's reports."""

    def test_dashboard_data_sources(self):
        dashboard = self.env.ref('lead_intelligence_dashboard.spreadsheet_dashboard_lead_intelligence')
        self.assertEqual(dashboard.dashboard_group_id,
                         self.env.ref('spreadsheet_dashboard.spreadsheet_dashboard_group_sales'))
        served = json.loads(dashboard._get_serialized_readonly_dashboard())
        pivots = served['snapshot']['pivots']
        self.assertEqual({pivot['model'] for pivot in pivots.values()},
                         {'crm.lead.tier.report', 'crm.lead.routing.report'})
        formulas = set(served['snapshot']['sheets'][0]['cells'].values())
        for pivot_id, pivot in pivots.items():
            self.assertIn(f'=PIVOT({pivot_id})', formulas, 'every data source is shown')
            Model = self.env[pivot['model']]
            groupbys = [row['fieldName'] for row in pivot['rows']]
            measures = [measure['fieldName'] for measure in pivot['measures']]
            for name in groupbys + measures:
                self.assertIn(name, Model._fields, f"{pivot['name']}: {name}")
            fields = Model.fields_get(groupbys + measures, ['aggregator', 'groupable'])
            self.assertTrue(all(fields[name]['groupable'] for name in groupbys))
            aggregates = [f"{name}:{fields[name]['aggregator']}" for name in measures]
            # what the spreadsheet asks on load: it runs on the database's data
            Model.formatted_read_grouping_sets(pivot['domain'], [groupbys, []], aggregates)
