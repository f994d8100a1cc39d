from odoo import api, fields, models

from ..writes import crm_lead_topic_interest as interest_writes


class CrmLeadEvent(models.Model):
    _inherit = 'crm.lead.event'

    @api.model
    def _fold_counted(self, events, types):
        """Also fold the counted events into their leads' topic interest, and give those leads their
        top topics, before the pass rescores them (a rule on the topics reads them)."""
        res = super()._fold_counted(events, types)
        # sudo: the topics of every company are matched, as counting runs over every lead
        patterns = self.env['crm.lead.topic'].sudo()._patterns()
        if interest_writes.fold(self.env, events.event_id.tolist(), patterns):
            changed = interest_writes.set_top_topics(
                self.env, sorted(set(events.lead_id.tolist())), fields.Datetime.now())
            Lead = self.env['crm.lead']
            Lead.invalidate_model(['topic_ids', 'topic_interest_ids'])
            if changed:
                Lead._on_top_topics_changed(sorted(changed))
        return res
