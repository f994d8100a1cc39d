from odoo import api, fields, models
from odoo.exceptions import ValidationError

from odoo.addons.lead_intelligence.models.classification.crm_lead_classification_rule import _rule_values


class CrmLeadNurtureList(models.Model):
    """A classification value, or a content topic, whose leads' contacts are kept subscribed to a mailing list."""

    _name = 'crm.lead.nurture.list'
    _description = 'Lead Nurture Mailing List'
    _order = 'dimension_value, id'

    dimension_value = fields.Selection(
        _rule_values(), 'Classification Value',
        help="The leads with this value (e.g. Lifecycle Stage: MQL) are nurtured through the mailing list.")
    topic_id = fields.Many2one(
        'crm.lead.topic', 'Content Topic', ondelete='cascade',
        help="The leads among whose top content interests is this topic are nurtured through the mailing list.")
    mailing_list_id = fields.Many2one(
        'mailing.list', required=True, ondelete='cascade',
        help="The contacts of the leads with the value are subscribed to this list, and unsubscribed when the "
             "lead's value changes (a contact who opted out stays out).")
    active = fields.Boolean(default=True)

    _value_list_uniq = models.UniqueIndex(
        '(dimension_value, mailing_list_id) WHERE dimension_value IS NOT NULL',
        "This value already feeds this mailing list.")
    _topic_list_uniq = models.UniqueIndex(
        '(topic_id, mailing_list_id) WHERE topic_id IS NOT NULL', "This topic already feeds this mailing list.")

    @api.depends('dimension_value', 'topic_id')
    def _compute_display_name(self):
        values = dict(self._fields['dimension_value']._description_selection(self.env))
        for record in self:
            record.display_name = record.topic_id.display_name if record.topic_id \
                else values.get(record.dimension_value, '')

    @api.constrains('dimension_value', 'topic_id', 'mailing_list_id')
    def _check_one_source(self):
        for record in self:
            if bool(record.dimension_value) == bool(record.topic_id):
                raise ValidationError(self.env._(
                    'A nurture mailing list is fed by a classification value or by a content topic: give one, '
                    'not both.'))

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
        """The lead field and the selection key of the value, e.g. ``('lifecycle_stage', 'mql')``; a list
        of a value only (not of a topic)."""
        self.ensure_one()
        field, key = self.dimension_value.split(':', 1)
        return field, key
