from odoo import fields, models


class CrmLeadSegmentIdentity(models.Model):
    """The lead a Segment anonymous visitor (``anonymousId``) was identified as, by an ``identify`` call:
    the visitor's later anonymous calls are the lead's events."""

    _name = 'crm.lead.segment.identity'
    _description = 'Segment Anonymous Visitor'
    _order = 'id desc'
    _rec_name = 'anonymous_id'
    _log_access = False  # one row per visitor, written by SQL

    anonymous_id = fields.Char('Anonymous ID', required=True, readonly=True)
    lead_id = fields.Many2one('crm.lead', required=True, readonly=True, ondelete='cascade', index=True)
    company_id = fields.Many2one('res.company', required=True, readonly=True, ondelete='cascade')
    identified_at = fields.Datetime('Identified On', readonly=True)

    _company_anonymous_id_uniq = models.UniqueIndex(
        '(company_id, anonymous_id)', "This anonymous visitor is already identified in this company.")
