from odoo import fields, models

from .dimensions import COMPANY_SIZES


class CrmLeadCompanySize(models.Model):
    """A company size (large / medium / small) as a record, so that a salesperson's
    skills can name several of them in a tag field. The three are data, one per value
    of the lead's ``company_size``."""

    _name = 'crm.lead.company.size'
    _description = 'Company Size'
    _order = 'sequence, id'

    name = fields.Char(required=True, translate=True)
    code = fields.Selection(COMPANY_SIZES, required=True)
    sequence = fields.Integer(default=10)

    _code_uniq = models.UniqueIndex('(code)')
