from odoo import fields, models


class CrmLeadVisitorLink(models.Model):
    """The lead-visitor links whose page views the page view job has already logged.

    A link missing here is new (a visitor who filled a form, chatted, or was
    merged into another one): the job then logs the visitor's earlier page views
    too, not only the ones since its last run. Written by the job only.
    """

    _name = 'crm.lead.visitor.link'
    _description = 'Lead Visitor Link Logged'
    _log_access = False

    lead_id = fields.Many2one('crm.lead', required=True, ondelete='cascade', index=False)
    visitor_id = fields.Many2one('website.visitor', required=True, ondelete='cascade', index=True)

    _lead_visitor_uniq = models.UniqueIndex('(lead_id, visitor_id)', "This link is already logged.")
