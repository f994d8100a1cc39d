from odoo import api, fields, models

from odoo.addons.lead_intelligence.models.classification.crm_lead_classification_rule import _rule_values


class CrmLeadNurtureList(models.Model):
    """A classification value whose leads' contacts are kept subscribed to a mailing list."""

    _name = 'crm.lead.nurture.list'
    _description = 'Lead Nurture Mailing List'
    _order = 'dimension_value, id'
    _rec_name = 'dimension_value'

    dimension_value = fields.Selection(
        _rule_values(), 'Classification Value', required=True,
        help="The leads with this value (e.g. Lifecycle Stage: MQL) are nurtured through the mailing list.")
    mailing_list_id = fields.Many2one(
        'mailing.list', required=True, ondelete='cascade',
        help="The contacts of the leads with the value are subscribed to this list, and unsubscribed when the "
             "lead's value changes (a contact who opted out stays out).")
    active = fields.Boolean(default=True)

    _value_list_uniq = models.UniqueIndex(
        '(dimension_value, mailing_list_id)', "This value already feeds this mailing list.")

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        self.env['crm.lead']._sync_nurture_list_members(records.mailing_list_id.ids)
        return records

    def write(self, vals):
        old_lists = self.mailing_list_id
        res = super().write(vals)
        self.env['crm.lead']._sync_nurture_list_members((old_lists | self.mailing_list_id).ids)
        return res

    def unlink(self):
        lists = self.mailing_list_id
        res = super().unlink()
        self.env['crm.lead']._sync_nurture_list_members(lists.ids)
        return res

    def _field_and_key(self):
        """The lead field and the selection key of the value, e.g. ``('lifecycle_stage', 'mql')``."""
        self.ensure_one()
        field, key = self.dimension_value.split(':', 1)
        return field, key
