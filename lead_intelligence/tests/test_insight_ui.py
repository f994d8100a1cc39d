from odoo.tests import HttpCase, tagged
from odoo.tools import SQL


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestInsightUi(HttpCase):

    def test_score_popover_tour(self):
        params = self.env['ir.config_parameter'].sudo()
        params.set_param('lead_intelligence.weight_fit', 100)
        params.set_param('lead_intelligence.weight_engagement', 0)
        # the tour's rule alone: the popover's top reason is known
        self.env['crm.lead.fit.rule'].search([]).action_archive()
        self.env['crm.lead.fit.rule'].create({
            'name': 'Tour popover rule', 'domain': "[('name', 'ilike', 'Popover tour')]", 'points': 90})
        admin = self.env.ref('base.user_admin')
        lead, won = self.env['crm.lead'].create([
            {'name': 'Popover tour lead', 'type': 'opportunity', 'user_id': admin.id},
            {'name': 'Popover tour won lead', 'type': 'opportunity', 'user_id': admin.id},
        ])
        self.env.flush_all()
        self.env.execute_query(SQL(
            """INSERT INTO crm_lead_score_history (lead_id, date, cause, old_score, new_score, score_delta)
               SELECT id, now() at time zone 'UTC' - interval '30 days', 'lead', NULL, 5, 0
                 FROM crm_lead WHERE id = ANY(%s)""", (lead + won).ids))
        self.env['crm.lead']._score_leads((lead + won).ids, 'manual')
        won.action_set_won()
        self.assertEqual((lead.tier_id, lead.score_trend), (self.env.ref('lead_intelligence.crm_lead_tier_a'),
                                                            'improving'))
        self.start_tour('/odoo', 'lead_intelligence_score_popover_tour', login='admin')
