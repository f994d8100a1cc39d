from odoo import api, fields, models
from odoo.exceptions import ValidationError


class CrmLeadClass(models.Model):
    """An admin-defined class of leads, in a hierarchy (Manufacturing / Automotive / EV parts)."""

    _name = 'crm.lead.class'
    _description = 'Lead Class'
    _parent_name = 'parent_id'
    _parent_store = True
    _rec_name = 'complete_name'
    _order = 'complete_name'

    name = fields.Char(required=True, translate=True)
    parent_id = fields.Many2one('crm.lead.class', 'Parent Class', index=True, ondelete='cascade')
    parent_path = fields.Char(index=True)
    child_ids = fields.One2many('crm.lead.class', 'parent_id', 'Sub-Classes')
    complete_name = fields.Char('Full Name', compute='_compute_complete_name', recursive=True, store=True)
    color = fields.Integer()
    active = fields.Boolean(default=True)
    company_id = fields.Many2one('res.company', index=True, help="Leave empty to share the class with every company.")

    @api.depends('name', 'parent_id.complete_name')
    def _compute_complete_name(self):
        for lead_class in self:
            lead_class.complete_name = (f'{lead_class.parent_id.complete_name} / {lead_class.name}'
                                        if lead_class.parent_id else lead_class.name)

    @api.constrains('parent_id')
    def _check_hierarchy(self):
        if self._has_cycle():
            raise ValidationError(self.env._('A class cannot be its own ancestor.'))
