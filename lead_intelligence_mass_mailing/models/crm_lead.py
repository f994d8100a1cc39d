from odoo import models


class CrmLead(models.Model):
    _inherit = 'crm.lead'

    def _lead_intelligence_is_reply(self, message):
        """A reply to an email marketing message is logged once, by the mailing's trace.

        Such a reply also lands in the lead's chatter, where lead_intelligence
        logs every email answering a message as an email reply: not this one.
        """
        if not super()._lead_intelligence_is_reply(message):
            return False
        if not message.parent_id.message_id:
            return True
        # sudo: whoever posts, the lead's mailings decide whether the reply is already logged
        return not self.env['mailing.trace'].sudo().search_count([
            ('message_id', '=', message.parent_id.message_id), ('model', '=', 'crm.lead'),
            ('res_id', '=', self.id), ('trace_type', '=', 'mail')], limit=1)
