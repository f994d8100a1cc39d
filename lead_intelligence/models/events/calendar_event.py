from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

from ..writes import crm_lead_event

WATERMARK_PARAM = 'lead_intelligence.meetings_logged_until'
FIRST_LOOKBACK = timedelta(days=30)  # meetings held before the first run that are still counted
OVERLAP = timedelta(days=1)  # meetings whose end moved slightly back are not missed


class CalendarEvent(models.Model):
    _inherit = 'calendar.event'

    @api.model
    def _cron_log_lead_meetings(self):
        """Log a meeting event for each lead met in a calendar event that has ended.

        A lead is met when the calendar event is its meeting (``opportunity_id``)
        or has the lead's customer among the attendees (open leads only). One
        set-based INSERT from the last run's time on; the external id is the
        calendar event and the lead, so a meeting counts once per lead whatever
        is edited later, and rerunning over the same period adds nothing.
        """
        # sudo: a technical system parameter, which only administrators may read otherwise
        params = self.env['ir.config_parameter'].sudo()
        now = fields.Datetime.now()
        since = fields.Datetime.to_datetime(params.get_param(WATERMARK_PARAM)) or now - FIRST_LOOKBACK + OVERLAP
        self.env.flush_all()
        met = SQL(
            """met AS (
                   SELECT ev.id AS event_id, ev.stop, ev.opportunity_id AS lead_id
                     FROM calendar_event ev
                    WHERE ev.active AND ev.opportunity_id IS NOT NULL AND ev.stop > %(since)s AND ev.stop <= %(now)s
                   UNION
                   SELECT ev.id, ev.stop, lead.id
                     FROM calendar_event ev
                     JOIN calendar_event_res_partner_rel rel ON rel.calendar_event_id = ev.id
                     JOIN crm_lead lead ON lead.partner_id = rel.res_partner_id
                                       AND lead.active AND lead.won_status = 'pending'
                    WHERE ev.active AND ev.stop > %(since)s AND ev.stop <= %(now)s
               )""",
            since=since - OVERLAP, now=now)
        event_ids = crm_lead_event.insert_selected_events(self.env, SQL(
            """SELECT met.lead_id, 'meeting' AS code, met.stop AS occurred_at,
                      'calendar.event-' || met.event_id || '-lead-' || met.lead_id AS external_id, NULL AS url
                 FROM met"""), 'calendar', with_=met)
        params.set_param(WATERMARK_PARAM, fields.Datetime.to_string(now))
        self.env['crm.lead.event']._enqueue(event_ids)
        return len(event_ids)
