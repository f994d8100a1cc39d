from odoo import fields, models
from odoo.tools import SQL

# a change of these may let routing take the leads it could not: they wait for it again
ROUTING_MEMBER_FIELDS = {
    'active', 'assignment_optout', 'routing_paused', 'out_of_office_until', 'capacity_ids', 'skill_industry_ids',
    'skill_country_ids', 'skill_lang_ids', 'skill_company_sizes', 'skill_topic_ids',
}


class CrmTeamMember(models.Model):
    _inherit = 'crm.team.member'

    # Skills: routing prefers the member whose skills match most of the lead's profile
    skill_industry_ids = fields.Many2many(
        'res.partner.industry', 'crm_team_member_skill_industry_rel', 'member_id', 'industry_id',
        string='Industries', help="Industries the salesperson knows: routing prefers them for such leads.")
    skill_country_ids = fields.Many2many(
        'res.country', 'crm_team_member_skill_country_rel', 'member_id', 'country_id', string='Countries')
    skill_lang_ids = fields.Many2many(
        'res.lang', 'crm_team_member_skill_lang_rel', 'member_id', 'lang_id', string='Languages')
    skill_company_sizes = fields.Many2many(
        'crm.lead.company.size', 'crm_team_member_skill_size_rel', 'member_id', 'size_id', string='Company Sizes')
    skill_topic_ids = fields.Many2many(
        'crm.lead.topic', 'crm_team_member_skill_topic_rel', 'member_id', 'topic_id', string='Content Topics',
        help="Topics the salesperson knows: routing prefers them for leads among whose top interests is one.")
    # Capacity and availability for routing
    capacity_ids = fields.One2many('crm.team.member.capacity', 'member_id', string='Capacity per Tier')
    routing_paused = fields.Boolean(
        help="Routing gives the salesperson no new lead until this is cleared.")
    out_of_office_until = fields.Date(
        'Out of Office Until', help="Routing gives the salesperson no new lead up to and including this day.")
    routing_available = fields.Boolean('Available for Routing', compute='_compute_routing_available')
    # written by routing, so that two workers routing at once take turns (see crm.lead._route_claimed)
    routing_date = fields.Datetime('Last Routed To', readonly=True, copy=False)

    def _compute_routing_available(self):
        today = fields.Date.context_today(self)
        for member in self:
            member.routing_available = member._is_routing_available(today)

    def _is_routing_available(self, today):
        self.ensure_one()
        return (self.active and self.user_id.active and not self.assignment_optout and not self.routing_paused
                and not (self.out_of_office_until and self.out_of_office_until >= today))

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    def write(self, vals):
        res = super().write(vals)
        if set(vals) & ROUTING_MEMBER_FIELDS:
            self.env['crm.lead']._requeue_unroutable()
        return res

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _get_open_lead_counts(self, tier_ids=None, exclude_lead_ids=()):
        """Open leads each member holds in its team, per tier: {(member id, tier id): count}."""
        if not self.ids:
            return {}
        self.env['crm.lead'].flush_model(['user_id', 'team_id', 'tier_id', 'active', 'won_status'])
        rows = self.env.execute_query(SQL(
            """SELECT member.id, lead.tier_id, count(*)
                 FROM crm_team_member member
                 JOIN crm_lead lead ON lead.user_id = member.user_id AND lead.team_id = member.crm_team_id
                WHERE member.id = ANY(%(members)s) AND lead.active AND lead.won_status = 'pending'
                  AND lead.tier_id IS NOT NULL AND (%(tiers)s::int[] IS NULL OR lead.tier_id = ANY(%(tiers)s))
                  AND lead.id <> ALL(%(exclude)s::int[])
                GROUP BY member.id, lead.tier_id""",
            members=self.ids, tiers=list(tier_ids) if tier_ids is not None else None,
            exclude=list(exclude_lead_ids)))
        return {(member_id, tier_id): count for member_id, tier_id, count in rows}
