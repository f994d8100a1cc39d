from odoo import api, fields, models
from odoo.exceptions import ValidationError

ROUTING_METHODS = [('skill', 'Best Skill Match'), ('round_robin', 'Weighted Round Robin')]
# a change of these may let routing take the leads it could not: they wait for it again
ROUTING_FIELDS = {'active', 'tier_ids', 'domain', 'company_id', 'team_id', 'member_ids', 'sequence'}


class CrmLeadRoutingRule(models.Model):
    """Which salespeople get the leads of some tiers: the first matching rule routes a lead."""

    _name = 'crm.lead.routing.rule'
    _description = 'Lead Routing Rule'
    _inherit = ['crm.lead.domain.rule']
    _order = 'sequence, id'

    name = fields.Char('Rule', required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    tier_ids = fields.Many2many(
        'crm.lead.tier', 'crm_lead_routing_rule_tier_rel', 'rule_id', 'tier_id', string='Tiers', required=True,
        domain="[('nurture', '=', False)]", help="The rule routes leads of these tiers that match its condition.")
    team_id = fields.Many2one(
        'crm.team', 'Sales Team', required=True, ondelete='restrict',
        help="The team the leads go to; the salesperson is one of its members.")
    member_ids = fields.Many2many(
        'crm.team.member', 'crm_lead_routing_rule_member_rel', 'rule_id', 'member_id', string='Salespeople',
        domain="[('crm_team_id', '=', team_id)]", help="Leave empty to route to every member of the team.")
    method = fields.Selection(
        ROUTING_METHODS, required=True, default='skill',
        help="Best skill match: the member whose skills (industries, countries, languages, company sizes) match "
             "most of the lead, then the least loaded (open leads of the tier relative to capacity), then the "
             "longest-standing member. Weighted round robin: members take turns, in proportion to their "
             "capacity for the tier.")
    routed_count = fields.Integer('Leads Routed', compute='_compute_routed_count')
    config_warning = fields.Char('Configuration Problem', compute='_compute_config_warning')

    @api.constrains('tier_ids')
    def _check_tiers(self):
        for rule in self:
            nurtured = rule.tier_ids.filtered('nurture')
            if nurtured:
                raise ValidationError(self.env._(
                    'Rule "%(rule)s": tier %(tier)s is nurtured (no salesperson), a routing rule cannot route it.',
                    rule=rule.name, tier=nurtured[0].name))

    @api.constrains('team_id', 'member_ids')
    def _check_members(self):
        for rule in self:
            strangers = rule.member_ids.filtered(lambda member, rule=rule: member.crm_team_id != rule.team_id)
            if strangers:
                raise ValidationError(self.env._(
                    'Rule "%(rule)s": %(member)s is not a member of team %(team)s.',
                    rule=rule.name, member=strangers[0].display_name, team=rule.team_id.name))
            if not rule._get_members():
                raise ValidationError(self.env._(
                    'Rule "%(rule)s" has no salesperson to route to: no active member of team %(team)s.',
                    rule=rule.name, team=rule.team_id.name))

    def _compute_routed_count(self):
        counts = dict(self.env['crm.lead.routing.history']._read_group(
            [('rule_id', 'in', self.ids), ('kind', '=', 'assign')], ['rule_id'], ['__count']))
        for rule in self:
            rule.routed_count = counts.get(rule, 0)

    @api.depends('member_ids', 'team_id', 'tier_ids')
    def _compute_config_warning(self):
        today = fields.Date.context_today(self)
        for rule in self:
            members = rule._get_members()
            available = members.filtered(lambda member: member._is_routing_available(today))
            tiers = rule.tier_ids
            with_capacity = available.capacity_ids.filtered(
                lambda line, tiers=tiers: line.tier_id in tiers and line.max_open_leads > 0)
            if not members:
                rule.config_warning = self.env._('No salesperson: no active member of the team to route to.')
            elif not available:
                rule.config_warning = self.env._('Every salesperson of the rule is paused or out of office.')
            elif not with_capacity:
                rule.config_warning = self.env._(
                    'No available salesperson has a capacity for these tiers: leads will stay unroutable. '
                    'Set capacities on the team members.')
            else:
                rule.config_warning = False

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        rules = super().create(vals_list)
        self.env['crm.lead']._requeue_unroutable()
        return rules

    def write(self, vals):
        res = super().write(vals)
        if set(vals) & ROUTING_FIELDS:
            self.env['crm.lead']._requeue_unroutable()
        return res

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_open_history(self):
        self.ensure_one()
        action = self.env['ir.actions.act_window']._for_xml_id('lead_intelligence.crm_lead_routing_history_action')
        action.update({'domain': [('rule_id', '=', self.id)], 'context': {}})
        return action

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _get_members(self):
        """The members the rule may route to (whatever their availability)."""
        self.ensure_one()
        return self.member_ids.filtered('active') if self.member_ids else self.team_id.crm_team_member_ids

    @api.model
    def _get_routed_tiers(self):
        """Tiers whose leads routing handles: those of an active rule, and the nurtured ones."""
        # sudo: routing decides for any user who scores a lead, over every active rule and tier
        return self.sudo().search([]).tier_ids | self.env['crm.lead.tier'].sudo().search([('nurture', '=', True)])  # pylint: disable=no-search-all
