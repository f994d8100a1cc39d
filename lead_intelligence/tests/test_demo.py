from odoo.tests import TransactionCase, tagged


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestDemoData(TransactionCase):
    """The demo database shows every stage at work: the generators the demo data calls, run here
    (the test databases are made without demo data)."""

    def test_demo_configures_and_runs_every_stage(self):
        Lead = self.env['crm.lead']
        leads = Lead._generate_lead_intelligence_demo(count=200)
        scoring_model = Lead._generate_lead_intelligence_demo_setup()
        team = self.env.ref('sales_team.team_sales_department')

        # a model trained on the demo history, active, and in the scores
        self.assertEqual(scoring_model.state, 'active')
        self.assertGreaterEqual(scoring_model.n_won + scoring_model.n_lost, 40)
        open_leads = leads.filtered(lambda lead: lead.won_status == 'pending')
        self.assertTrue(open_leads)
        self.assertTrue(all(open_leads.mapped('tier_id')))
        self.assertTrue(any(open_leads.mapped('model_score')), 'the active model takes part in the scores')

        # first-contact deadlines, and the lowest tier nurtured
        tier_a, tier_b, tier_d = (self.env.ref(f'lead_intelligence.crm_lead_tier_{name}') for name in 'abd')
        self.assertEqual((tier_a.sla_hours, tier_b.sla_hours), (1.0, 8.0))
        self.assertTrue(tier_d.nurture)
        self.assertFalse(tier_d.sla_hours)

        # routing rules for the demo team only, its salespeople with skills and capacities
        rules = self.env['crm.lead.routing.rule'].search([])
        self.assertEqual(len(rules), 2)
        self.assertEqual(rules.team_id, team)
        self.assertTrue(all(f"('team_id', '=', {team.id})" in rule.domain for rule in rules))
        members = rules.member_ids
        self.assertTrue(members)
        self.assertTrue(all(member.capacity_ids and member.skill_country_ids for member in members))
        routed = open_leads.filtered(lambda lead: lead.routing_state == 'routed')
        self.assertTrue(routed, 'the demo leads without a salesperson were routed')
        self.assertLessEqual(set(routed.user_id.ids), set(members.user_id.ids))
        self.assertTrue(all(routed.filtered(lambda lead: lead.tier_id in tier_a | tier_b).mapped('sla_deadline')))
        nurtured = open_leads.filtered(lambda lead: lead.routing_state == 'nurtured')
        self.assertEqual(nurtured.tier_id, tier_d)

        # hierarchical classes, given to the leads by their rules
        classes = self.env['crm.lead.class'].search([('parent_id', '!=', False)])
        self.assertTrue(classes)
        classified = leads.filtered('class_ids')
        self.assertTrue(classified)
        self.assertTrue(all(lead_class.parent_id for lead_class in classified.class_ids))
        self.assertFalse(self.env['crm.lead.score.run'].search([('state', '=', 'running')]))
