from odoo import fields, models

NURTURE_TIER_FIELDS = frozenset({'nurture', 'nurture_mailing_list_id', 'active'})


class CrmLeadTier(models.Model):
    _inherit = 'crm.lead.tier'

    nurture_mailing_list_id = fields.Many2one(
        'mailing.list', ondelete='set null',
        help="The contacts of this nurtured tier's leads are subscribed to this mailing list, and unsubscribed "
             "when their lead leaves the tier (a contact who opted out stays out).")

    def write(self, vals):
        if not NURTURE_TIER_FIELDS & set(vals):
            return super().write(vals)
        old_lists = self.nurture_mailing_list_id
        res = super().write(vals)
        self.env['crm.lead']._sync_nurture_list_members((old_lists | self.nurture_mailing_list_id).ids)
        return res
