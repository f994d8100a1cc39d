from odoo import fields, models


class CrmLeadEventQueue(models.Model):
    """The events waiting to be counted: a narrow work list beside the event log.

    An event is logged once and never rewritten when it is counted: the job
    deletes its row here instead (the claim) and keeps in the log only the
    reason of the few it flags. What counting needs is copied here, so that it
    never reads the log but for the context of caps and bursts.
    """

    _name = 'crm.lead.event.queue'
    _description = 'Lead Behaviour Event to Count'
    _log_access = False  # written and deleted in bulk by SQL
    _rec_name = 'event_id'

    event_id = fields.Many2one('crm.lead.event', required=True, ondelete='cascade', index=False)
    lead_id = fields.Many2one('crm.lead', required=True, ondelete='cascade', index=True)
    type_id = fields.Many2one('crm.lead.event.type', required=True, ondelete='cascade')
    occurred_at = fields.Datetime(required=True)
    value = fields.Float()

    _event_uniq = models.UniqueIndex('(event_id)')
