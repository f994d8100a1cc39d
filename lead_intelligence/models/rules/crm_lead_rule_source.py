from odoo import models


class CrmLeadRuleSource(models.AbstractModel):
    """Records classification rules read through a path: their changes reclassify the leads.

    Inherited by each model of ``lead_fields.WATCHED_MODELS`` below.
    """

    _name = 'crm.lead.rule.source'
    _description = 'Record Read by Lead Classification Rules'

    def write(self, vals):
        res = super().write(vals)
        self.env['crm.lead.classification.rule']._on_rule_source_change(self._name, set(vals))
        return res

    def unlink(self):
        # deleting a record empties the leads' field through the foreign key, behind the ORM
        self.env['crm.lead.classification.rule']._on_rule_source_change(self._name, None)
        return super().unlink()


class CrmStage(models.Model):
    _name = 'crm.stage'
    _inherit = ['crm.stage', 'crm.lead.rule.source']


class CrmTag(models.Model):
    _name = 'crm.tag'
    _inherit = ['crm.tag', 'crm.lead.rule.source']


class CrmTeam(models.Model):
    _name = 'crm.team'
    _inherit = ['crm.team', 'crm.lead.rule.source']


class ResCountry(models.Model):
    _name = 'res.country'
    _inherit = ['res.country', 'crm.lead.rule.source']


class ResCountryState(models.Model):
    _name = 'res.country.state'
    _inherit = ['res.country.state', 'crm.lead.rule.source']


class ResLang(models.Model):
    _name = 'res.lang'
    _inherit = ['res.lang', 'crm.lead.rule.source']


class ResPartnerIndustry(models.Model):
    _name = 'res.partner.industry'
    _inherit = ['res.partner.industry', 'crm.lead.rule.source']


class UtmSource(models.Model):
    _name = 'utm.source'
    _inherit = ['utm.source', 'crm.lead.rule.source']


class UtmMedium(models.Model):
    _name = 'utm.medium'
    _inherit = ['utm.medium', 'crm.lead.rule.source']


class UtmCampaign(models.Model):
    _name = 'utm.campaign'
    _inherit = ['utm.campaign', 'crm.lead.rule.source']
