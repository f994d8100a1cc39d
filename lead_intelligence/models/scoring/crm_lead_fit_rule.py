from odoo import api, fields, models
from odoo.exceptions import ValidationError

MAX_RULE_POINTS = 100


class CrmLeadFitRule(models.Model):
    _name = 'crm.lead.fit.rule'
    _description = 'Lead Profile-Fit Rule'
    _inherit = ['crm.lead.domain.rule', 'crm.lead.scoring.config']
    _order = 'sequence, id'
    _rescore_fields = ('domain', 'points', 'company_id', 'active')

    name = fields.Char('Rule', required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    points = fields.Integer(
        required=True, default=10,
        help="Added to the lead's fit points when it matches; negative points subtract.")
    description = fields.Text('Why', translate=True)

    @api.constrains('points')
    def _check_points(self):
        for rule in self:
            if abs(rule.points) > MAX_RULE_POINTS:
                raise ValidationError(self.env._(
                    'Rule "%(rule)s" gives %(points)s points: points must be between -%(max)s and %(max)s.',
                    rule=rule.name, points=rule.points, max=MAX_RULE_POINTS))
