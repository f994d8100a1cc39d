import numpy as np

from odoo import fields, models

from ...engine import behaviour


class CrmLeadTopicInterest(models.Model):
    """A lead's interest in a topic: its counted events of the topic, each decayed with the topic's
    half-life to ``ref_date``, the latest of them (written by SQL only)."""

    _name = 'crm.lead.topic.interest'
    _description = 'Lead Content Interest'
    _order = 'units desc, id'
    _log_access = False

    # no index of its own: the unique (lead_id, topic_id) index serves the lead's rows
    lead_id = fields.Many2one('crm.lead', required=True, ondelete='cascade', readonly=True)
    topic_id = fields.Many2one('crm.lead.topic', required=True, ondelete='cascade', readonly=True)
    units = fields.Float('Decayed Events', readonly=True)
    ref_date = fields.Datetime('As Of', readonly=True)
    weight = fields.Float('Interest', compute='_compute_weight', digits=(16, 2),
                          help="The decayed events, decayed again to now.")

    _lead_topic_unique = models.Constraint('UNIQUE (lead_id, topic_id)', 'One interest per lead and topic.')

    def _compute_weight(self):
        now = fields.Datetime.now()
        # the decay of the engagement sums, of which these are the topic's kind
        factors = behaviour.decay_factor(
            np.array([(now - row.ref_date).total_seconds() if row.ref_date else 0.0 for row in self]),
            np.array([row.topic_id.half_life for row in self]))
        for row, factor in zip(self, factors.tolist(), strict=True):
            row.weight = row.units * factor
