from odoo import api, models


class CrmLeadScoringConfig(models.AbstractModel):
    """Configuration that scores depend on: changing it rescores every open lead."""

    _name = 'crm.lead.scoring.config'
    _description = 'Lead Scoring Configuration'

    # fields whose change moves scores or tiers
    _rescore_fields = ('active', 'company_id')

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        self.env['crm.lead']._trigger_full_rescore()
        return records

    def write(self, vals):
        res = super().write(vals)
        if set(self._rescore_fields) & set(vals):
            self.env['crm.lead']._trigger_full_rescore()
        return res

    def unlink(self):
        res = super().unlink()
        self.env['crm.lead']._trigger_full_rescore()
        return res
