from odoo import fields, models


class CrmLeadEvent(models.Model):
    _inherit = 'crm.lead.event'

    source = fields.Selection(selection_add=[('mass_mailing', 'Email Marketing')],
                              ondelete={'mass_mailing': 'cascade'})
