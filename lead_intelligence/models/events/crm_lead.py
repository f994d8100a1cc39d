from datetime import UTC

import numpy as np

from odoo import fields, models
from odoo.tools import SQL

from ...engine import arrays, behaviour
from ...engine.events import EngagementSums
from ..lead_fields import COUNT, VALUE
from ..writes import crm_lead_event, crm_lead_event_queue


class CrmLead(models.Model):
    """The lead's behaviour: its counters and events, the events of the mail gateway
    and of merged leads, and its engagement as the scoring pass reads it."""

    _inherit = 'crm.lead'

    # Behaviour counters: written in bulk by the event job (see crm.lead.event), never indexed.
    # ``counter``: what each counted event adds, one (COUNT) or its value (VALUE); the event job, the
    # event types' counter choices and the model's features read the counters from it (COUNTER_FIELDS)
    visit_count = fields.Integer('Website Visits', readonly=True, copy=False, system_owned=True, counter=COUNT)
    time_on_site = fields.Integer('Time on Site (s)', readonly=True, copy=False, system_owned=True, counter=VALUE,
                                  help="Total time spent on the website, in seconds.")
    key_page_count = fields.Integer('Key Pages', readonly=True, copy=False, system_owned=True, counter=COUNT)
    download_count = fields.Integer('Downloads', readonly=True, copy=False, system_owned=True, counter=COUNT)
    webinar_count = fields.Integer('Webinars & Events', readonly=True, copy=False, system_owned=True, counter=COUNT)
    email_open_count = fields.Integer('Email Opens', readonly=True, copy=False, system_owned=True, counter=COUNT)
    email_click_count = fields.Integer('Email Clicks', readonly=True, copy=False, system_owned=True, counter=COUNT)
    email_reply_count = fields.Integer('Email Replies', readonly=True, copy=False, system_owned=True, counter=COUNT)
    form_count = fields.Integer('Forms', readonly=True, copy=False, system_owned=True, counter=COUNT)
    call_count = fields.Integer('Calls Made', readonly=True, copy=False, system_owned=True, counter=COUNT)
    meeting_count = fields.Integer('Meetings Held', readonly=True, copy=False, system_owned=True, counter=COUNT)
    buying_signal_count = fields.Integer('Buying Signals', readonly=True, copy=False, system_owned=True,
                                         counter=COUNT, help="Quote requests, demo requests, pricing page views.")
    last_engagement_date = fields.Datetime('Last Engagement', readonly=True, copy=False, system_owned=True)
    lead_ref = fields.Char(
        'External Reference', copy=False, index='btree_not_null',
        help="The lead's identifier in another system (website, marketing tool): events may name the lead by it.")
    event_ids = fields.One2many('crm.lead.event', 'lead_id', string='Behaviour')
    filtered_event_count = fields.Integer(compute='_compute_filtered_events', string='Filtered Events')
    filtered_event_summary = fields.Char(compute='_compute_filtered_events', string='Filtered Because')

    def _compute_filtered_events(self):
        reasons = dict(self.env['crm.lead.event']._fields['filter_reason']._description_selection(self.env))
        groups = self.env['crm.lead.event']._read_group(
            [('lead_id', 'in', self.ids), ('filter_reason', '!=', False)], ['lead_id', 'filter_reason'], ['__count'])
        by_lead = {}
        for lead, reason, count in groups:
            by_lead.setdefault(lead.id, []).append((reason, count))
        for lead in self:
            counts = by_lead.get(lead.id, [])
            lead.filtered_event_count = sum(count for _reason, count in counts)
            lead.filtered_event_summary = ', '.join(
                f'{reasons.get(reason, reason)}: {count}' for reason, count in sorted(counts)) or False

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    def _message_post_after_hook(self, message, msg_vals):
        """An email from outside replying on the lead's thread is an email reply of the lead."""
        res = super()._message_post_after_hook(message, msg_vals)
        if self.id and self._lead_intelligence_is_reply(message):
            # sudo: the mail gateway logs the lead's behaviour, whoever posts
            self.env['crm.lead.event'].sudo()._log_odoo_events([{
                'lead_id': self.id, 'type': 'email_reply', 'occurred_at': message.date or fields.Datetime.now(),
                'external_id': f'mail.message-{message.id}',
            }], 'mail')
        return res

    def _lead_intelligence_is_reply(self, message):
        """Whether ``message``, just posted on the lead, is an email reply of the
        lead: an email from outside answering a message of the thread. Bridges
        that log the same reply from elsewhere (a mailing's trace) leave it out."""
        self.ensure_one()
        return message.message_type == 'email' and bool(message.parent_id) \
            and not message.author_id.user_ids.filtered(lambda user: not user.share)

    def _merge_dependences(self, opportunities):
        """The behaviour of merged leads moves to the lead they are merged into.

        Their events would otherwise be deleted with them. Counted events are
        counted again on this lead (its caps and bursts apply), so that its
        counters and engagement include them; the engagement rows of the merged
        leads go with them.
        """
        res = super()._merge_dependences(opportunities)
        self.env.flush_all()
        moved = crm_lead_event.move_to_lead(self.env, self.id, opportunities.ids)
        crm_lead_event_queue.move_to_lead(self.env, self.id, opportunities.ids)
        self.env['crm.lead.event'].invalidate_model(['lead_id'])
        self.env['crm.lead.event.queue'].invalidate_model(['lead_id'])
        # counted again here; the ones still queued stay queued
        self.env['crm.lead.event']._enqueue(moved)
        return res

    # ------------------------------------------------------------
    # ENGAGEMENT
    # ------------------------------------------------------------

    def _read_engagement_rows(self, ids, config):
        """The stored engagement of the leads ``ids`` (sorted), one row per lead and event type, by lead then type.

        :rtype: engine.stages.EngagementRows
        """
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) and int(ids.max()) - int(ids.min()) < 4 * len(ids):
            # a pass's chunk: its id range walks the (lead, type) index, where a list of 20,000 ids
            # made PostgreSQL scan the whole table (1M rows: 100 ms per chunk, against 45 ms); the
            # rows of the range's other leads are dropped below
            where = SQL('lead_id BETWEEN %s AND %s', int(ids.min()), int(ids.max()))
        else:
            where = SQL('lead_id = ANY(%s::int[])', arrays.int_array_literal(ids))
        rows = self.env.execute_query(SQL(
            """SELECT lead_id, type_id, units, extract(epoch FROM ref_date)::float8
                 FROM crm_lead_engagement WHERE %s ORDER BY lead_id, type_id""", where))
        sums = EngagementSums.from_matrix(np.array(rows, dtype=np.float64).reshape(len(rows), 4))
        return sums.take(np.isin(sums.lead_id, ids)).rows(ids, config)

    @staticmethod
    def _engagement_now():
        """Now in POSIX seconds, from the Python clock (naive UTC, as Odoo keeps it)."""
        return fields.Datetime.now().replace(tzinfo=UTC).timestamp()

    def _read_engagement(self, ids, config):
        """0-100 engagement of the leads ``ids`` now, from their stored decayed sums.

        :return: float array aligned with ``ids``
        """
        totals, _swing, _half_life = self._read_engagement_state(ids, config, self._engagement_now())
        return behaviour.engagement_score(totals, config.engagement_high)

    def _read_engagement_state(self, ids, config, now):
        """The engagement of the leads ``ids`` at ``now`` (POSIX seconds), and how far its decay can
        move it from then (see ``engine.stages.EngagementRows.decay_bounds``).

        :return: ``(totals, swing, half_life)``, (n,) float each, aligned with ``ids``: the decayed
            points, the absolute points of the rows that decay, their shortest half-life (days, inf for none)
        """
        rows = self._read_engagement_rows(ids, config)
        return (rows.lead_totals(now, len(ids)), *rows.decay_bounds(now, len(ids)))

    def _read_engagement_contributions(self, ids, config):
        """Decayed points of each event type for the leads ``ids``, now: {lead id: [(type, points)]}."""
        rows = self._read_engagement_rows(ids, config)
        decayed = rows.decayed(self._engagement_now())
        # sudo: the explanation names the types, whoever reads it
        types = self.env['crm.lead.event.type'].sudo().with_context(active_test=False).browse(
            config.type_ids.tolist())
        result = {}
        for lead, type_, value in zip(ids[rows.lead_index].tolist(), rows.type_index.tolist(), decayed.tolist(),
                                      strict=True):
            result.setdefault(lead, []).append((types[type_], value))
        return result


# the behaviour counters, in declaration order, and what each counted event adds to them (COUNT or VALUE)
COUNTER_FIELDS = {
    name: field.counter for name, field in vars(CrmLead).items()
    if isinstance(field, fields.Field) and getattr(field, 'counter', None)
}
