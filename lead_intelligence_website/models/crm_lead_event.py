from odoo import fields, models


class CrmLeadEvent(models.Model):
    _inherit = 'crm.lead.event'

    source = fields.Selection(selection_add=[('website', 'Website')], ondelete={'website': 'cascade'})
