from odoo import fields, models
from odoo.tools import SQL


class CrmLeadRoutingReport(models.Model):
    """Routing statistics: one row per lead routing gave a salesperson, with how fast it was
    contacted and how it ended.

    Rates are 0 / 100 per lead, empty when not decided yet, and averaged: the SLA met % of a
    group is over its leads whose deadline passed or that were contacted, the conversion rate
    over its closed (won or lost) leads.
    """

    _name = 'crm.lead.routing.report'
    _description = 'Lead Routing Statistics'
    _auto = False
    _rec_name = 'lead_id'
    _order = 'routed_date desc'
    _depends = {
        'crm.lead': ['active', 'won_status', 'user_id', 'team_id', 'tier_id', 'company_id', 'routing_state',
                     'routing_rule_id', 'routed_date', 'sla_deadline', 'first_contact_date', 'sla_status',
                     'escalation_level'],
    }

    lead_id = fields.Many2one('crm.lead', readonly=True)
    user_id = fields.Many2one('res.users', 'Salesperson', readonly=True)
    team_id = fields.Many2one('crm.team', 'Sales Team', readonly=True)
    tier_id = fields.Many2one('crm.lead.tier', readonly=True)
    rule_id = fields.Many2one('crm.lead.routing.rule', 'Routing Rule', readonly=True)
    company_id = fields.Many2one('res.company', readonly=True)
    routed_date = fields.Datetime('Routed On', readonly=True)
    lead_count = fields.Integer('# Leads Received', readonly=True, aggregator='sum')
    contact_hours = fields.Float(
        'Hours to First Contact', readonly=True, aggregator='avg', digits=(16, 1),
        help="From routing to the first activity done or message sent; empty until then.")
    sla_met = fields.Float(
        'SLA Met %', readonly=True, aggregator='avg', digits=(16, 1),
        help="100 when contacted by the deadline, 0 when the deadline passed first; empty while pending.")
    conversion = fields.Float(
        'Conversion %', readonly=True, aggregator='avg', digits=(16, 1),
        help="100 for a won lead, 0 for a lost one, empty while open.")
    escalated = fields.Integer('# Escalated', readonly=True, aggregator='sum')

    @property
    def _table_query(self):
        return SQL(
            """SELECT lead.id, lead.id AS lead_id, lead.user_id, lead.team_id, lead.tier_id,
                      lead.routing_rule_id AS rule_id, lead.company_id, lead.routed_date, 1 AS lead_count,
                      extract(epoch FROM lead.first_contact_date - lead.routed_date) / 3600 AS contact_hours,
                      CASE lead.sla_status WHEN 'on_time' THEN 100.0 WHEN 'breached' THEN 0.0
                                           WHEN 'met_late' THEN 0.0 END AS sla_met,
                      CASE lead.won_status WHEN 'won' THEN 100.0 WHEN 'lost' THEN 0.0 END AS conversion,
                      CASE WHEN lead.escalation_level > 0 THEN 1 ELSE 0 END AS escalated
                 FROM crm_lead lead
                WHERE lead.routing_state = 'routed' AND lead.routed_date IS NOT NULL""")
