from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

from odoo.addons.lead_intelligence.models.writes import crm_lead_event

WATERMARK_PARAM = 'lead_intelligence_website.page_views_logged_until'
BACKFILL = timedelta(days=90)  # earlier page views logged for a new lead-visitor link (and at the first run)
OVERLAP = timedelta(hours=1)  # page views written by transactions still running at the last run are not missed
PRICING_PATH = '%/pricing%'  # LIKE pattern on the lower-case URL path: /pricing, /en/pricing, /pricing-plans...


class WebsiteTrack(models.Model):
    _inherit = 'website.track'

    # the page view job reads the page views since its last run
    _visit_datetime_idx = models.Index('(visit_datetime)')

    @api.model
    def _cron_log_lead_page_views(self):
        """Log an event for each page view of a visitor linked to a lead.

        A view is a ``pricing_page`` event when its URL path contains
        ``/pricing``, else a ``key_page`` event when its page is a key page,
        else a ``visit`` event. One set-based INSERT: the views since the last
        run (less an overlap) of every linked visitor, plus, for each lead-visitor
        link that is new since the last run, the visitor's views of the last
        90 days (the visitor browsed before filling the form that made the lead).
        The external id is the page view and the lead, so a view counts once
        per lead, and rerunning over the same period adds nothing.
        """
        params = self.env['ir.config_parameter'].sudo()
        now = fields.Datetime.now()
        since = fields.Datetime.to_datetime(params.get_param(WATERMARK_PARAM)) or now - BACKFILL + OVERLAP
        self.env.flush_all()
        # a link removed since is forgotten: if it comes back, the visitor's views are backfilled again
        self.env.execute_query(SQL(
            """DELETE FROM crm_lead_visitor_link link
                WHERE NOT EXISTS (SELECT 1 FROM crm_lead_website_visitor_rel rel
                                   WHERE rel.crm_lead_id = link.lead_id AND rel.website_visitor_id = link.visitor_id)
               RETURNING 1"""))
        views = SQL(
            """new_link AS (
                   INSERT INTO crm_lead_visitor_link (lead_id, visitor_id)
                   SELECT rel.crm_lead_id, rel.website_visitor_id
                     FROM crm_lead_website_visitor_rel rel
                    WHERE NOT EXISTS (SELECT 1 FROM crm_lead_visitor_link link
                                       WHERE link.lead_id = rel.crm_lead_id
                                         AND link.visitor_id = rel.website_visitor_id)
                   ON CONFLICT (lead_id, visitor_id) DO NOTHING
                   RETURNING lead_id, visitor_id
               ), viewed AS (
                   SELECT track.id AS track_id, new_link.lead_id
                     FROM new_link JOIN website_track track ON track.visitor_id = new_link.visitor_id
                    WHERE track.visit_datetime > %(backfill)s
                   UNION
                   SELECT track.id, rel.crm_lead_id
                     FROM website_track track
                     JOIN crm_lead_website_visitor_rel rel ON rel.website_visitor_id = track.visitor_id
                    WHERE track.visit_datetime > %(since)s
               )""",
            backfill=now - BACKFILL, since=since - OVERLAP)
        event_ids = crm_lead_event.insert_selected_events(self.env, SQL(
            """SELECT viewed.lead_id,
                      CASE WHEN lower(split_part(split_part(
                                    regexp_replace(COALESCE(track.url, ''), '^[a-zA-Z][a-zA-Z0-9+.-]*://[^/]*', ''),
                                    '?', 1), '#', 1)) LIKE %(pricing)s THEN 'pricing_page'
                           WHEN page.is_key_page THEN 'key_page'
                           ELSE 'visit' END AS code,
                      track.visit_datetime AS occurred_at,
                      'website.track-' || viewed.track_id || '-lead-' || viewed.lead_id AS external_id,
                      track.url
                 FROM viewed
                 JOIN website_track track ON track.id = viewed.track_id
                 LEFT JOIN website_page page ON page.id = track.page_id""",
            pricing=PRICING_PATH), 'website', with_=views)
        params.set_param(WATERMARK_PARAM, fields.Datetime.to_string(now))
        self.env['crm.lead.visitor.link'].invalidate_model()
        self.env['crm.lead.event']._enqueue(event_ids)
        return len(event_ids)
