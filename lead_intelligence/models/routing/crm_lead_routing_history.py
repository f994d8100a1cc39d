from odoo import fields, models

ROUTING_KINDS = [
    ('assign', 'Assigned'), ('escalate_reminder', 'Reminder to Owner'), ('escalate_leader', 'Notice to Team Leader'),
    ('reassign', 'Reassigned'), ('unroutable', 'Unroutable'), ('nurture', 'Nurtured'),
]


class CrmLeadRoutingHistory(models.Model):
    """One row per routing decision on a lead: assignment, escalation, reassignment."""

    _name = 'crm.lead.routing.history'
    _description = 'Lead Routing History'
    _order = 'date desc, id desc'
    _log_access = False  # written in bulk by SQL; date and the users say who and when
    _rec_name = 'lead_id'

    lead_id = fields.Many2one('crm.lead', required=True, ondelete='cascade', index=True)
    date = fields.Datetime(required=True, default=fields.Datetime.now)
    kind = fields.Selection(ROUTING_KINDS, required=True)
    from_user_id = fields.Many2one('res.users', 'From', help="The salesperson before.")
    to_user_id = fields.Many2one('res.users', 'To', help="The salesperson after (or notified).")
    rule_id = fields.Many2one('crm.lead.routing.rule', ondelete='set null', index='btree_not_null')
    tier_id = fields.Many2one('crm.lead.tier', ondelete='set null')
    team_id = fields.Many2one('crm.team', 'Sales Team', ondelete='set null')
    company_id = fields.Many2one(related='lead_id.company_id')
    reason = fields.Text()
