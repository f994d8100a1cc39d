from odoo import api, fields, models

from ..writes import crm_lead_topic_interest as interest_writes


class CrmLead(models.Model):
    """The lead's top content topics, from its own counted events (see ``crm.lead.topic``)."""

    _inherit = 'crm.lead'

    topic_ids = fields.Many2many(
        'crm.lead.topic', 'crm_lead_topic_rel', 'lead_id', 'topic_id', string='Content Interests', readonly=True,
        copy=False, system_owned=True,
        help="The lead's top 3 topics by the decayed weight of its events (pages, downloads, webinars).")
    topic_interest_ids = fields.One2many('crm.lead.topic.interest', 'lead_id', 'Interest by Topic', readonly=True)

    def _rescore_all_leads(self, run):
        if not run.last_lead_id:
            # decay reorders the topics: every lead's top topics, before the rules read them
            self._refresh_top_topics()
        return super()._rescore_all_leads(run)

    @api.model
    def _refresh_top_topics(self):
        """Every lead's top topics by its interest decayed to now, where they changed (three statements)."""
        self.env.flush_all()
        changed = interest_writes.set_top_topics(self.env, None)
        self.invalidate_model(['topic_ids'])
        if changed:
            self._on_top_topics_changed(sorted(changed))

    @api.model
    def _on_top_topics_changed(self, lead_ids):
        """Hook: the top topics of the leads ``lead_ids`` (sorted ids) changed, already written."""
