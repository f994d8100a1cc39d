from odoo import fields, models


class CrmLeadEngagement(models.Model):
    """Decayed behaviour of a lead for one event type, kept so that decay never rescans the event log.

    ``units`` is the sum of the counted events (1 each, or minutes for
    per-minute types) each decayed with the type's half-life to ``ref_date``,
    the latest of them; their worth at any later time is
    ``units * 0.5 ** (age / half-life)``, times the type's current points.
    New events are folded in by the event job (see ``engine.behaviour.accumulate``).
    """

    _name = 'crm.lead.engagement'
    _description = 'Lead Engagement per Event Type'
    _log_access = False  # written in bulk by SQL

    lead_id = fields.Many2one('crm.lead', required=True, ondelete='cascade')
    type_id = fields.Many2one('crm.lead.event.type', required=True, ondelete='cascade')
    units = fields.Float('Decayed Units', required=True)
    ref_date = fields.Datetime('As Of', required=True)

    _lead_type_uniq = models.UniqueIndex('(lead_id, type_id)')

    def init(self):
        # Half of each page kept free, as for crm_lead_score: the event job rewrites the sums of
        # every lead it counts, and a row's new version then fits in its own page, an update that
        # writes no index entry (HOT: neither units nor ref_date is indexed).
        self.env.cr.execute('ALTER TABLE crm_lead_engagement SET (fillfactor = 50)')
