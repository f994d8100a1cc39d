from odoo import fields, models


class MailingSubscription(models.Model):
    _inherit = 'mailing.subscription'

    lead_intelligence_nurture = fields.Boolean(
        'Added for Nurture', readonly=True,
        help="Subscribed because a lead of this contact is in a nurtured tier or has a nurtured classification "
             "value: removed when no such lead is left. Subscriptions made otherwise are never removed.")
