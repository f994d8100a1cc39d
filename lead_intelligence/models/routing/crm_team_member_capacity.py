from odoo import api, fields, models
from odoo.exceptions import ValidationError


class CrmTeamMemberCapacity(models.Model):
    """How many open leads of a tier a salesperson may hold at once.

    A member without a line for a tier takes no lead of that tier from routing.
    """

    _name = 'crm.team.member.capacity'
    _description = 'Salesperson Capacity per Tier'
    _order = 'member_id, tier_id'

    # no index of its own: the unique (member_id, tier_id) index serves the member's lines
    member_id = fields.Many2one('crm.team.member', required=True, ondelete='cascade')
    tier_id = fields.Many2one('crm.lead.tier', required=True, ondelete='cascade')
    max_open_leads = fields.Integer(
        default=20,
        help="Routing gives the salesperson leads of this tier until they hold this many open ones.")
    open_lead_count = fields.Integer('Open Leads', compute='_compute_open_lead_count')

    _member_tier_uniq = models.UniqueIndex('(member_id, tier_id)')

    @api.constrains('max_open_leads')
    def _check_max_open_leads(self):
        for line in self:
            if line.max_open_leads < 0:
                raise ValidationError(self.env._(
                    'The capacity of %(member)s for tier %(tier)s cannot be negative.',
                    member=line.member_id.display_name, tier=line.tier_id.display_name))

    def _compute_open_lead_count(self):
        counts = self.member_id._get_open_lead_counts()
        for line in self:
            line.open_lead_count = counts.get((line.member_id.id, line.tier_id.id), 0)

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        lines = super().create(vals_list)
        self.env['crm.lead']._requeue_unroutable()
        return lines

    def write(self, vals):
        res = super().write(vals)
        self.env['crm.lead']._requeue_unroutable()
        return res
