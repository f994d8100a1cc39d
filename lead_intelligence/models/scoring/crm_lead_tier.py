from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ...engine import scoring
from .. import log_fields


class CrmLeadTier(models.Model):
    _name = 'crm.lead.tier'
    _description = 'Lead Tier'
    _inherit = ['crm.lead.scoring.config']
    _order = 'sequence, min_score desc, id'
    _rescore_fields = ('min_score', 'company_id', 'active')

    name = fields.Char('Tier', required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    min_score = fields.Integer(
        'Minimum Score', required=True, default=0,
        help="Leads whose score is at least this value, and below the next tier's minimum, get this tier.")
    color = fields.Integer(default=0)
    company_id = fields.Many2one(
        'res.company', index=True,
        help="Leave empty to use these tiers in every company that has no tiers of its own.")
    description = fields.Text('Follow-up Strategy', translate=True)
    lead_count = fields.Integer('Leads', compute='_compute_lead_count')
    # Follow-up of the leads routing gives a salesperson
    sla_hours = fields.Float(
        'First Contact Within (h)',
        help="Working hours (of the salesperson's working schedule, else the company's) the salesperson has to "
             "make the first contact: an activity done or a message sent. 0: no deadline and no escalation.")
    followup_activity_type_id = fields.Many2one(
        'mail.activity.type', 'Follow-up Activity', domain="[('res_model', 'in', (False, 'crm.lead'))]",
        help="Activity scheduled for the salesperson a lead of this tier is routed to, due by the deadline.")
    nurture = fields.Boolean(
        help="Leads of this tier get no salesperson: routing tags them for marketing to nurture instead.")
    nurture_tag_id = fields.Many2one('crm.tag', help="Tag routing puts on the nurtured leads.")
    escalation_reminder_hours = fields.Float(
        'Remind Owner After (h)',
        help="Hours after a missed first-contact deadline when the owner is reminded (0: at the deadline).")
    escalation_leader_hours = fields.Float(
        'Notify Team Leader After (h)',
        help="Hours after a missed first-contact deadline when the team leader is notified (0: never).")
    escalation_reassign_hours = fields.Float(
        'Reassign After (h)',
        help="Hours after a missed first-contact deadline when the lead goes to the next best available "
             "salesperson (0: never).")

    @api.constrains('min_score', 'company_id', 'active', 'sequence')
    def _check_thresholds(self):
        for company in {tier.company_id for tier in self}:
            tiers = self.search([('company_id', '=', company.id)])  # in rank order, best first
            minimums = tiers.mapped('min_score')
            problem = scoring.check_thresholds(minimums)
            position = None if problem else scoring.check_tier_order(minimums)
            if position is not None:
                problem = 'order', tiers[position:position + 2]
            if problem:
                raise ValidationError(self._threshold_error(company, *problem))

    @api.constrains('sla_hours', 'escalation_reminder_hours', 'escalation_leader_hours', 'escalation_reassign_hours',
                    'nurture')
    def _check_follow_up(self):
        for tier in self:
            steps = [tier.escalation_reminder_hours, tier.escalation_leader_hours, tier.escalation_reassign_hours]
            if tier.sla_hours < 0 or any(hours < 0 for hours in steps):
                raise ValidationError(self.env._('Tier %s: hours cannot be negative.', tier.name))
            enabled = [steps[0]] + [hours for hours in steps[1:] if hours]
            if enabled != sorted(enabled):
                raise ValidationError(self.env._(
                    'Tier %s: the escalation steps must come in order: reminder, then team leader, then '
                    'reassignment.', tier.name))
            if tier.nurture and tier.sla_hours:
                raise ValidationError(self.env._(
                    'Tier %s: nurtured leads get no salesperson, so they have no first-contact deadline.',
                    tier.name))
            rule = tier.nurture and self.env['crm.lead.routing.rule'].search([('tier_ids', 'in', tier.ids)], limit=1)
            if rule:
                raise ValidationError(self.env._(
                    'Tier %(tier)s cannot be nurtured: routing rule "%(rule)s" routes it to salespeople.',
                    tier=tier.name, rule=rule.name))

    def _threshold_error(self, company, problem, values):
        scope = company.name or self.env._('all companies')
        if problem == 'order':
            higher, lower = values
            return self.env._(
                'Tiers of %(scope)s: %(higher)s is ranked above %(lower)s, so it must start higher, not at '
                '%(higher_min)s against %(lower_min)s. Keep the tiers in the order of their minimum scores, '
                'highest first.', scope=scope, higher=higher.name, lower=lower.name,
                higher_min=higher.min_score, lower_min=lower.min_score)
        values = ', '.join(map(str, values))
        if problem == 'range':
            return self.env._('Tiers of %(scope)s: minimum scores must be between 0 and 100, not %(values)s.',
                              scope=scope, values=values)
        if problem == 'gap':
            return self.env._('Tiers of %(scope)s: the lowest tier must start at 0, not %(values)s: '
                              'lower scores would have no tier.', scope=scope, values=values)
        return self.env._('Tiers of %(scope)s: several tiers start at %(values)s: their ranges overlap.',
                          scope=scope, values=values)

    def _compute_lead_count(self):
        counts = dict(self.env['crm.lead']._read_group(
            [('tier_id', 'in', self.ids)], ['tier_id'], ['__count']))
        for tier in self:
            tier.lead_count = counts.get(tier, 0)

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    def unlink(self):
        companies = {tier.company_id for tier in self}
        # the score history references the tiers without a foreign key: emptied as the key would set them null
        log_fields.delete_references(self.env, self._name, self.ids)
        res = super().unlink()
        for company in companies:
            # check what is left of each tier set, through any of its tiers
            self.search([('company_id', '=', company.id)], limit=1)._check_thresholds()
        return res

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_open_leads(self):
        self.ensure_one()
        action = self.env['ir.actions.act_window']._for_xml_id('lead_intelligence.crm_lead_action_by_tier')
        action['domain'] = [('tier_id', '=', self.id)]
        return action

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    @api.model
    def _get_tier_sets(self):
        """Return the tiers to cut scores with, per company.

        :return: (default, by_company) where ``default`` is the (thresholds, ids)
            pair of the shared tiers and ``by_company`` maps a company id to the
            pair of its own tiers.
        """
        by_company = {}
        default = ([], [])
        # a handful of tiers, all needed
        for tier in self.search([]):  # pylint: disable=no-search-all
            pair = by_company.setdefault(tier.company_id.id, ([], [])) if tier.company_id else default
            pair[0].append(tier.min_score)
            pair[1].append(tier.id)
        return default, by_company
