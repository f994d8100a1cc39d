from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..engine import scoring


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

    @api.constrains('min_score', 'company_id', 'active')
    def _check_thresholds(self):
        for company in {tier.company_id for tier in self}:
            tiers = self.search([('company_id', '=', company.id)])
            problem = scoring.check_thresholds(tiers.mapped('min_score'))
            if problem:
                raise ValidationError(self._threshold_error(company, *problem))

    def _threshold_error(self, company, problem, values):
        scope = company.name or self.env._('all companies')
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
