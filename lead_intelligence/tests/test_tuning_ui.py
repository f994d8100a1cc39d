from odoo.tests import HttpCase, tagged


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestTuningUi(HttpCase):

    def test_tuning_tour(self):
        rule = self.env['crm.lead.fit.rule'].create({
            'name': 'Tour VIP', 'domain': "[('function', 'ilike', 'Tour VIP buyer')]", 'points': 5})
        Lead = self.env['crm.lead']
        Lead.create([{'name': f'Tour won {n}', 'function': 'Tour VIP buyer'} for n in range(10)]).action_set_won()
        Lead.create([{'name': f'Tour lost {n}'} for n in range(20)]).action_set_lost()
        self.start_tour('/odoo/crm', 'lead_intelligence_tuning_tour', login='admin')
        change = self.env['crm.lead.tuning.history'].search([('fit_rule_id', '=', rule.id)])
        self.assertEqual((change.old_value, change.new_value), (5, rule.points))
        self.assertGreater(rule.points, 5)
        self.assertEqual(change.user_id.login, 'admin')
