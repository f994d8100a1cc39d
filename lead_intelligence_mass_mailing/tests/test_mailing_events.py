from odoo.tests import tagged

from odoo.addons.lead_intelligence.tests.common import TestLeadIntelligenceCommon

REPLY_EMAIL = """From: Lucie Lead <lucie.lead@example.com>
To: catchall@test.example.com
Subject: Re: Our spring offer
Message-ID: <reply-%(uid)s@example.com>
In-Reply-To: %(parent)s
References: %(parent)s
Date: Tue, 03 Mar 2026 10:00:00 +0000
Content-Type: text/plain; charset=utf-8

Interested, call me.
"""


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestMailingEvents(TestLeadIntelligenceCommon):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mailing = cls.env['mailing.mailing'].create({
            'subject': 'Our spring offer',
            'body_html': '<p>Hello</p>',
            'mailing_model_id': cls.env['ir.model']._get_id('crm.lead'),
        })
        cls.lead = cls.env['crm.lead'].create({'name': 'Lucie', 'email_from': 'lucie.lead@example.com'})
        cls.other_lead = cls.env['crm.lead'].create({'name': 'Paul', 'email_from': 'paul.lead@example.com'})

    def _trace(self, record, **values):
        return self.env['mailing.trace'].create({
            'mass_mailing_id': self.mailing.id, 'model': record._name, 'res_id': record.id,
            'trace_type': 'mail', 'trace_status': 'sent', 'email': 'someone@example.com',
            'message_id': f'<mailing-{record._name}-{record.id}-{len(values)}@example.com>', **values,
        })

    def _events(self, leads=None):
        return self.env['crm.lead.event'].search([
            ('source', '=', 'mass_mailing'), ('lead_id', 'in', (leads or self.lead).ids)], order='id')

    def _count(self):
        with self._mock_commit_progress():
            self.env['crm.lead.event']._cron_count_events()

    def test_each_status_is_one_event_and_replaying_adds_nothing(self):
        trace = self._trace(self.lead)
        trace.set_opened()
        trace.set_clicked()
        trace.set_replied()
        trace.set_bounced(bounce_message='550 mailbox unavailable')
        events = self._events()
        self.assertEqual(events.mapped('type_id.code'), ['email_open', 'email_click', 'email_reply', 'email_bounce'])
        self.assertEqual(events.mapped('external_id'), [
            f'mailing.trace-{trace.id}-open', f'mailing.trace-{trace.id}-click',
            f'mailing.trace-{trace.id}-reply', f'mailing.trace-{trace.id}-bounce'])
        self.assertEqual(set(events.mapped('state')), {'pending'})
        self.assertEqual(events[0].occurred_at, trace.open_datetime)
        self.assertEqual(events[2].occurred_at, trace.reply_datetime)

        # the same statuses again (a second open, click, reply or bounce) are already logged
        trace.set_opened()
        trace.set_clicked()
        trace.set_replied()
        trace.set_bounced()
        self.assertEqual(trace._log_lead_events('open', 'email_open', 'open_datetime'), set())
        self.assertEqual(self._events(), events)

    def test_events_are_counted_into_the_lead(self):
        trace = self._trace(self.lead)
        trace.set_opened()
        trace.set_clicked()
        trace.set_replied()
        self._count()
        self.assertEqual(set(self._events().mapped('state')), {'counted'})
        self.assertRecordValues(self.lead, [{'email_open_count': 1, 'email_click_count': 1, 'email_reply_count': 1}])
        self.assertTrue(self.lead.last_engagement_date)
        # replaying after counting changes nothing
        trace.set_opened()
        trace.set_clicked()
        self._count()
        self.assertRecordValues(self.lead, [{'email_open_count': 1, 'email_click_count': 1, 'email_reply_count': 1}])

    def test_bounce_lowers_engagement_without_a_counter(self):
        bounce = self.env.ref('lead_intelligence_mass_mailing.event_type_email_bounce')
        self.assertRecordValues(bounce, [{'code': 'email_bounce', 'points': -5, 'half_life': 30,
                                          'counter_field': False}])
        self._trace(self.lead).set_bounced()
        self._count()
        event = self._events()
        self.assertRecordValues(event, [{'type_id': bounce.id, 'state': 'counted'}])
        engagement = self.env['crm.lead.engagement'].search([('lead_id', '=', self.lead.id)])
        self.assertEqual(engagement.type_id, bounce)
        self.assertAlmostEqual(engagement.units, 1.0, places=3)
        self.assertRecordValues(self.lead, [{'email_open_count': 0, 'email_reply_count': 0}])

    def test_one_batch_whatever_the_number_of_traces(self):
        leads = self.env['crm.lead'].create([{'name': f'Lead {i}'} for i in range(7)])
        traces = self.env['mailing.trace'].concat(*(self._trace(lead) for lead in leads))
        traces[0].set_opened()  # warm-up: the caches of the first call
        self.env.flush_all()
        queries = []
        for batch in (traces[1:3], traces[3:]):
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            batch.set_opened()
            self.env.flush_all()
            queries.append(self.env.cr.sql_log_count - before)
        self.assertEqual(queries[0], queries[1], 'as many queries for 4 traces as for 2')
        self.env['mailing.trace'].set_clicked(domain=[('id', 'in', traces.ids)])
        clicks = self._events(leads).filtered(lambda event: event.type_id.code == 'email_click')
        self.assertEqual(len(clicks), 7)
        self.assertEqual(clicks.lead_id, leads)

    def test_traces_of_other_records_are_ignored(self):
        partner_trace = self._trace(self.env['res.partner'].create({'name': 'Not a lead'}))
        test_trace = self._trace(self.other_lead, is_test_trace=True)
        gone = self.env['crm.lead'].create({'name': 'Deleted'})
        gone_trace = self._trace(gone)
        gone.unlink()
        lead_trace = self._trace(self.lead)
        traces = partner_trace + test_trace + gone_trace + lead_trace
        traces.set_opened()
        traces.set_bounced()
        events = self.env['crm.lead.event'].search([('source', '=', 'mass_mailing')])
        self.assertEqual(events.lead_id, self.lead)
        self.assertEqual(len(events), 2)
        self.assertEqual(traces.filtered(lambda trace: trace.trace_status == 'bounce'), traces,
                         'the traces themselves are updated as usual')

    def test_link_click_logs_open_and_click(self):
        trace = self._trace(self.lead)
        link = self.env['link.tracker'].create({'url': 'https://www.example.com/offer', 'title': 'Offer'})
        self.env['link.tracker.click'].sudo().add_click(
            link.code, ip='100.10.10.1', country_code='BE', mailing_trace_id=trace.id)
        self.assertEqual(self._events().mapped('type_id.code'), ['email_open', 'email_click'])

    def test_bounce_from_the_mail_gateway(self):
        trace = self._trace(self.lead)
        self.env['mail.thread']._routing_handle_bounce(False, {
            'bounced_email': 'lucie.lead@example.com', 'bounced_msg_ids': [trace.message_id],
            'bounced_partner': self.env['res.partner'], 'bounced_message': self.env['mail.message'],
            'body': 'Mailbox unavailable', 'message_id': '<bounce-1@example.com>',
            'email_from': 'mailer-daemon@example.com', 'to': 'bounce@test.example.com',
        })
        self.assertEqual(trace.trace_status, 'bounce')
        self.assertEqual(self._events().mapped('external_id'), [f'mailing.trace-{trace.id}-bounce'])

    def test_reply_to_a_mailing_counts_once(self):
        """The reply lands in the lead's chatter too: it is still one email reply."""
        message = self.lead.message_post(body='Our spring offer', message_type='email_outgoing',
                                         subtype_xmlid='mail.mt_note')
        trace = self._trace(self.lead, message_id=message.message_id)
        self.env['mail.thread'].message_process(
            'crm.lead', REPLY_EMAIL % {'uid': 1, 'parent': message.message_id})
        reply = self.lead.message_ids.filtered(lambda msg: msg.message_type == 'email' and msg.parent_id == message)
        self.assertEqual(len(reply), 1, 'the reply is in the chatter')
        self.assertEqual(trace.trace_status, 'reply')
        events = self.env['crm.lead.event'].search([('lead_id', '=', self.lead.id)])
        self.assertEqual(events.mapped('source'), ['mass_mailing'] * len(events))
        self.assertEqual(sorted(events.mapped('type_id.code')), ['email_open', 'email_reply'])
        self._count()
        self.assertEqual(self.lead.email_reply_count, 1)

    def test_reply_to_a_chatter_email_is_still_logged(self):
        message = self.other_lead.message_post(body='A question', message_type='email_outgoing',
                                               subtype_xmlid='mail.mt_note')
        self._trace(self.lead)  # a mailing trace of another lead and message changes nothing
        self.env['mail.thread'].message_process(
            'crm.lead', REPLY_EMAIL % {'uid': 2, 'parent': message.message_id})
        events = self.env['crm.lead.event'].search([('lead_id', '=', self.other_lead.id)])
        self.assertEqual(events.mapped('source'), ['mail'])
        self.assertEqual(events.type_id.code, 'email_reply')
