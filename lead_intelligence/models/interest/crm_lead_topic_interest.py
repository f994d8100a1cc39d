from odoo import fields, models


class CrmLeadTopicInterest(models.Model):
    """A lead's interest in a topic: its counted events of the topic, each decayed with the topic's
    half-life to ``ref_date``, the latest of them (written by SQL only)."""

    _name = 'crm.lead.topic.interest'
    _description = 'Lead Content Interest'
    _order = 'units desc, id'
    _log_access = False

    lead_id = fields.Many2one('crm.lead', required=True, ondelete='cascade', index=True, readonly=True)
    topic_id = fields.Many2one('crm.lead.topic', required=True, ondelete='cascade', readonly=True)
    units = fields.Float('Decayed Events', readonly=True)
    ref_date = fields.Datetime('As Of', readonly=True)
    weight = fields.Float('Interest', compute='_compute_weight', digits=(16, 2),
                          help="The decayed events, decayed again to now.")

    _lead_topic_unique = models.Constraint('UNIQUE (lead_id, topic_id)', 'One interest per lead and topic.')

    def _compute_weight(self):
        now = fields.Datetime.now()
        for row in self:
            days = max((now - row.ref_date).total_seconds() / 86400, 0) if row.ref_date else 0
            row.weight = row.units * 0.5 ** (days / row.topic_id.half_life) if row.topic_id.half_life else row.units
