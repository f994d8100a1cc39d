from odoo import models

from .crm_lead import ROUTING_OWNED_STATES


class CrmTeam(models.Model):
    """Odoo's own lead assignment leaves alone the leads routing handles (see readme/USAGE.md)."""

    _inherit = 'crm.team'

    def _allocate_leads(self, creation_delta_days=7):
        # the team allocation builds its lead domain inline: crm.lead._search adds the exclusion
        return super(CrmTeam, self.with_context(lead_intelligence_exclude_routed=True))._allocate_leads(
            creation_delta_days=creation_delta_days)

    def _get_lead_to_assign_domain(self):
        # a list, as crm's own: overrides may extend it with +
        return [*super()._get_lead_to_assign_domain(), ('routing_state', 'not in', list(ROUTING_OWNED_STATES))]
