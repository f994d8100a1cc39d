from odoo import fields, models


class MailingTrace(models.Model):
    _inherit = 'mailing.trace'

    # replies and bounces find their trace by Message-ID (here and in mass_mailing itself):
    # without an index, each incoming reply or bounce reads the whole trace table
    _message_id_idx = models.Index('(message_id)')

    def set_opened(self, domain=None):
        traces = super().set_opened(domain=domain)
        traces._log_lead_events('open', 'email_open', 'open_datetime')
        return traces

    def set_clicked(self, domain=None):
        traces = super().set_clicked(domain=domain)
        traces._log_lead_events('click', 'email_click', 'links_click_datetime')
        return traces

    def set_replied(self, domain=None):
        traces = super().set_replied(domain=domain)
        traces._log_lead_events('reply', 'email_reply', 'reply_datetime')
        return traces

    def set_bounced(self, domain=None, bounce_message=False):
        traces = super().set_bounced(domain=domain, bounce_message=bounce_message)
        traces._log_lead_events('bounce', 'email_bounce')
        return traces

    def _log_lead_events(self, action, event_type, date_field=None):
        """Log ``event_type`` for the leads these traces were sent to: one batch for all of them.

        Only emails (not SMS) of real sendings (not tests) to leads that still
        exist count. The external id is the trace and the action, so an email
        opened, clicked, replied to or bounced counts once for each, however
        many times it happens and whatever happens to the trace later.

        :param action: ``open``, ``click``, ``reply`` or ``bounce``
        :param date_field: the trace's date of the action, when it has one
        :return: the set of external ids logged
        """
        traces = self.filtered(lambda trace: trace.model == 'crm.lead' and trace.res_id
                               and trace.trace_type == 'mail' and not trace.is_test_trace)
        if not traces:
            return set()
        # sudo: opens and clicks come from the public tracking routes; one query for the batch
        lead_ids = set(self.env['crm.lead'].sudo().browse(sorted(set(traces.mapped('res_id')))).exists().ids)
        now = fields.Datetime.now()
        rows = [
            {
                'lead_id': trace.res_id,
                'type': event_type,
                'occurred_at': (trace[date_field] if date_field else False) or now,
                'external_id': f'mailing.trace-{trace.id}-{action}',
            }
            for trace in traces
            if trace.res_id in lead_ids
        ]
        if not rows:
            return set()
        # sudo: whoever triggers the tracking logs the lead's behaviour
        return self.env['crm.lead.event'].sudo()._log_odoo_events(rows, 'mass_mailing')
