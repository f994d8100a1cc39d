import logging
import re

import numpy as np

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Domain
from odoo.tools import SQL, email_normalize

from ...engine import arrays, behaviour
from ...engine.events import EngagementSums, EventTypes, GroupedUnits, IncomingEvents, QueuedEvents, TimedEvents
from .. import bulk
from ..lead_fields import VALUE
from ..writes import crm_lead, crm_lead_engagement, crm_lead_event, crm_lead_event_queue
from .crm_lead import COUNTER_FIELDS

_logger = logging.getLogger(__name__)

EMAIL_SHAPE = re.compile(r'[^@\s]+@[^@\s]+\.[^@\s]+')  # what is left of a normalised email worth looking up
EVENT_CHUNK_SIZE = 200000  # events counted together, at most (about 0.5 KB each in memory)
FILTER_REASON_LABELS = {  # the engine's filter reasons, as a person reads them
    behaviour.BOT: 'Bot user agent', behaviour.DWELL: 'Visit too short', behaviour.BURST: 'Burst of events',
    behaviour.CAP: 'Daily cap reached'}


class CrmLeadEvent(models.Model):
    """The behaviour event log: one row per thing a lead did, from any source.

    Rows are small and written in bulk; ``(source, company_id, external_id)``
    is unique, so an event sent twice, imported twice or seen by two workers is
    logged once, and one company's external IDs never clash with another's.
    New events wait in ``crm.lead.event.queue`` until the event job counts them:
    it adds them to the lead's counters and decayed engagement, or flags them
    (bot, visit too short, burst, daily cap), and rescores the leads concerned.
    A row of the log is written once (flagged ones get their reason), so the
    log never pays for an update per event.
    """

    _name = 'crm.lead.event'
    _description = 'Lead Behaviour Event'
    _order = 'occurred_at desc, id desc'
    _rec_name = 'type_id'
    _log_access = False  # tens of millions of rows: keep them narrow

    lead_id = fields.Many2one('crm.lead', required=True, ondelete='cascade', index=False)
    type_id = fields.Many2one('crm.lead.event.type', 'Event Type', required=True, ondelete='restrict')
    occurred_at = fields.Datetime('Date', required=True)
    source = fields.Selection(
        [('api', 'API'), ('import', 'Import'), ('mail', 'Email'), ('activity', 'Activity'),
         ('calendar', 'Calendar'), ('segment', 'Segment')], required=True, default='import')
    external_id = fields.Char(
        'External ID', required=True,
        help="Identifies the event at its source: the same event sent again is recognised and not counted twice.")
    value = fields.Float(help="Seconds for visits and time on site; otherwise as the source sends it.")
    url = fields.Char('URL')
    state = fields.Selection(
        [('pending', 'To Count'), ('counted', 'Counted'), ('filtered', 'Filtered')],
        compute='_compute_state', search='_search_state',
        help="To count: waiting for the counting job. Filtered: kept but not counted (see the reason).")
    filter_reason = fields.Selection(
        [(behaviour.REASON_CODES[reason], label) for reason, label in FILTER_REASON_LABELS.items()], readonly=True,
        help="Why the event is kept but not counted.")
    company_id = fields.Many2one(
        'res.company', required=True, readonly=True, ondelete='cascade',
        help="The company the event was logged for: the lead's, or for a lead shared by all companies, the company "
             "of the user who logged it. An external ID is unique within a company.")

    _source_company_external_id_uniq = models.UniqueIndex(
        '(source, company_id, external_id)',
        "This event is already in the log (same source, company and external ID).")
    _lead_date_idx = models.Index('(lead_id, occurred_at)')

    def _compute_state(self):
        # sudo: whoever reads an event may know whether it is counted yet
        queued = set(self.env['crm.lead.event.queue'].sudo().search_fetch(
            [('event_id', 'in', self.ids)], ['event_id']).event_id.ids)
        for event in self:
            event.state = 'filtered' if event.filter_reason else 'pending' if event.id in queued else 'counted'

    def _search_state(self, operator, value):
        if operator in ('=', '!='):
            operator, value = ('in' if operator == '=' else 'not in'), [value]
        if operator not in ('in', 'not in'):
            return NotImplemented
        queued = SQL('(SELECT event_id FROM crm_lead_event_queue)')
        kept = Domain('filter_reason', '=', False)
        parts = {
            'filtered': Domain('filter_reason', '!=', False),
            'pending': kept & Domain('id', 'in', queued),
            'counted': kept & Domain('id', 'not in', queued),
        }
        domain = Domain.OR(parts[state] for state in value if state in parts)
        return domain if operator == 'in' else ~domain

    # ------------------------------------------------------------
    # ORM: imports
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        """Log events given as field values (CSV import, code): idempotent.

        An event already logged (same source, company and external ID), or
        repeated in the same batch, is not created again: the logged one is
        returned in its place, so importing a file twice adds nothing. Events
        are validated as the API's are; new ones wait for the event job like
        every other event.
        """
        rules = self._get_event_rules()
        types = self.env['crm.lead.event.type'].with_context(active_test=False).browse(
            {vals['type_id'] for vals in vals_list if vals.get('type_id')})
        codes = {event_type.id: event_type.code for event_type in types}
        for vals in vals_list:
            vals['source'] = vals.get('source') or 'import'
            if not vals.get('external_id') or not vals.get('lead_id') or not vals.get('type_id'):
                raise ValidationError(self.env._('An event needs a lead, an event type and an external ID.'))
            vals['external_id'] = str(vals['external_id']).strip()
            occurred_at = fields.Datetime.to_datetime(vals.get('occurred_at'))
            if not occurred_at:
                raise ValidationError(self.env._('Event %s has no date.', vals['external_id']))
            value = vals.get('value')
            item = {'type': codes.get(vals['type_id']), 'occurred_at': occurred_at.isoformat(),
                    'lead_id': vals['lead_id'], 'external_id': vals['external_id'],
                    'value': None if value is False else value}
            event, reason = behaviour.validate_event(item, rules)
            if reason:
                raise ValidationError(self.env._('Event %(external_id)s is refused: %(reason)s',
                                                 external_id=vals['external_id'], reason=reason))
            vals['filter_reason'] = behaviour.REASON_CODES.get(event['filter'], False)
        # the company scopes the external IDs: a company's event never stands for another's
        companies = self._get_event_companies([vals['lead_id'] for vals in vals_list])
        keys = []
        for vals in vals_list:
            vals['company_id'] = companies.get(vals['lead_id']) or self.env.company.id
            keys.append((vals['source'], vals['company_id'], vals['external_id']))
        existing = self._find_logged(keys)
        new_vals, seen = [], set(existing)
        for key, vals in zip(keys, vals_list, strict=True):
            if key not in seen:
                seen.add(key)
                new_vals.append(vals)
        created = super().create(new_vals)
        by_key = existing | {(event.source, event.company_id.id, event.external_id): event.id for event in created}
        self._enqueue(created.filtered(lambda event: not event.filter_reason).ids)
        return self.browse([by_key[key] for key in keys])

    def write(self, vals):
        # the log is append-only: what was counted stays as it was counted
        if set(vals) - {'url', 'state'}:
            raise UserError(self.env._('Logged events cannot be changed; log a new event instead.'))
        return super().write(vals)

    @api.model
    def _find_logged(self, keys):
        """Ids of the events already logged under the (source, company id, external id) ``keys``."""
        if not keys:
            return {}
        rows = self.env.execute_query(SQL(
            """SELECT e.source, e.company_id, e.external_id, e.id FROM crm_lead_event e
                 JOIN unnest(%s::varchar[], %s::int[], %s::varchar[]) AS k(source, company_id, external_id)
                   ON e.source = k.source AND e.company_id = k.company_id AND e.external_id = k.external_id""",
            [key[0] for key in keys], [key[1] for key in keys], [key[2] for key in keys]))
        return {(source, company_id, external_id): event_id for source, company_id, external_id, event_id in rows}

    @api.model
    def _get_event_companies(self, lead_ids):
        """Company of each lead of ``lead_ids`` that has one (whoever may read the lead)."""
        if not lead_ids:
            return {}
        return dict(self.env.execute_query(SQL(
            'SELECT id, company_id FROM crm_lead WHERE id = ANY(%s) AND company_id IS NOT NULL', list(lead_ids))))

    # ------------------------------------------------------------
    # INGESTION
    # ------------------------------------------------------------

    @api.model
    def _get_event_rules(self):
        settings = self.env['res.config.settings']._get_lead_intelligence_settings()
        # sudo: the API user and importers check events against every type, whoever they are
        types = self.env['crm.lead.event.type'].sudo().search([])  # pylint: disable=no-search-all
        try:
            bot = behaviour.bot_matcher(settings['bot_user_agents'])
        except ValueError as error:
            raise UserError(self.env._(
                'The bot user agent patterns in the Lead Intelligence settings are not valid: %s', error)) from error
        return behaviour.EventRules(
            type_codes=frozenset(types.mapped('code')),
            dwell_types=frozenset(types.filtered('is_dwell').mapped('code')),
            min_dwell=settings['min_dwell'], now=fields.Datetime.now(), bot=bot)

    @api.model
    def _ingest(self, items, source='api', create_leads=False):
        """Validate, resolve and log a batch of incoming events (the HTTP API's work).

        Each item is checked on its own: the valid items of a partly bad batch
        are logged. An event already logged, or repeated in the batch, is a
        duplicate. Bots and too-short visits are logged but flagged at once.

        :param items: events as decoded from JSON (see ``behaviour.validate_event``)
        :param create_leads: a new lead is created for an unknown email
            (otherwise the event is rejected)
        :return: one ``{'index', 'status', 'reason'}`` per item, status
            ``accepted``, ``duplicate`` or ``rejected``
        """
        rules = self._get_event_rules()
        results = [None] * len(items)
        valid = []
        for index, item in enumerate(items):
            event, reason = behaviour.validate_event(item, rules)
            if not reason and 'email' in event:
                reason = self._normalize_event_email(event)
            if reason:
                results[index] = {'index': index, 'status': 'rejected', 'reason': reason}
            else:
                valid.append((index, event))
        lead_ids = self._resolve_leads([event for _index, event in valid], create_leads)
        rows = []
        for (index, event), lead_id in zip(valid, lead_ids, strict=True):
            if not lead_id:
                key = next(key for key in ('lead_id', 'email', 'lead_ref') if key in event)
                results[index] = {'index': index, 'status': 'rejected',
                                  'reason': f'no lead with {key} {event[key]!r}'}
            else:
                rows.append((index, dict(event, lead_id=lead_id)))
        inserted = self._insert_events([row for _index, row in rows], source)
        for position, (index, _row) in enumerate(rows):
            if position in inserted:
                results[index] = {'index': index, 'status': 'accepted', 'reason': None}
            else:
                results[index] = {'index': index, 'status': 'duplicate', 'reason': 'already logged'}
        return results

    @api.model
    def _normalize_event_email(self, event):
        """Normalise the ``email`` of the validated ``event`` in place, as Odoo normalises the
        leads' emails ("Anna <ANNA@x.com>" is anna@x.com).

        :return: None, or the reason why it is not an email address
        """
        event['email'] = email_normalize(event['email']) or ''
        return None if EMAIL_SHAPE.fullmatch(event['email']) else "'email' is not a valid email address"

    @api.model
    def _resolve_leads(self, events, create_leads=False):
        """Lead id of each event, found by id, email or external reference in
        the companies of the current user; 0 where there is none.

        Three queries at most, whatever the batch size; plus one batched create
        of the leads for unknown emails when ``create_leads``.
        """
        self.env.flush_all()  # leads created in this transaction are looked up by SQL
        company_ids = self.env.user.company_ids.ids
        found = {}
        for key, column in (('lead_id', 'id'), ('email', 'email_normalized'), ('lead_ref', 'lead_ref')):
            values = list({event[key] for event in events if key in event})
            if not values:
                continue
            # open leads first, then the most recent: an email may be on several leads
            rows = self.env.execute_query(SQL(
                """SELECT DISTINCT ON (%(column)s) %(column)s, id FROM crm_lead
                    WHERE %(column)s = ANY(%(values)s) AND (company_id IS NULL OR company_id = ANY(%(companies)s))
                    ORDER BY %(column)s, active DESC, won_status = 'pending' DESC, id DESC""",
                column=SQL.identifier(column), values=values, companies=company_ids))
            found[key] = dict(rows)
        if create_leads:
            emails = sorted({event['email'] for event in events if 'email' in event} - set(found.get('email', {})))
            if emails:
                # sudo: the API user logs behaviour; the leads it needs are created as the system's own
                leads = self.env['crm.lead'].sudo().with_company(self.env.company).create([
                    {'name': email, 'email_from': email, 'type': 'lead', 'company_id': self.env.company.id}
                    for email in emails])
                found.setdefault('email', {}).update(zip(emails, leads.ids, strict=True))
        return [
            next(found.get(key, {}).get(event[key], 0) for key in ('lead_id', 'email', 'lead_ref') if key in event)
            for event in events
        ]

    @api.model
    def _insert_events(self, rows, source):
        """Log validated events in one statement; the ones already logged are left out.

        An event is logged for its lead's company, or for the current company
        when the lead is shared by all (see ``company_id``). Rows are inserted
        in the order of their keys, so that two batches sharing events wait
        for each other instead of deadlocking.

        :param rows: dicts with ``lead_id``, ``type`` (code), ``occurred_at``,
            ``external_id`` and optionally ``value``, ``url``, ``filter``
        :return: the set of the positions in ``rows`` of the events logged
            (of an event repeated in ``rows``, the first one at most)
        """
        if not rows:
            return set()
        self.env.flush_all()
        inserted = crm_lead_event.insert_events(self.env, IncomingEvents(
            lead_id=[row['lead_id'] for row in rows], code=[row['type'] for row in rows],
            occurred_at=[row['occurred_at'] for row in rows], external_id=[row['external_id'] for row in rows],
            value=[row.get('value') for row in rows], url=[row.get('url') for row in rows],
            filter_reason=[behaviour.REASON_CODES.get(row.get('filter')) for row in rows]), source)
        if inserted:
            self._trigger_count_job()
        return inserted

    @api.model
    def _enqueue(self, event_ids):
        """Queue the logged events ``event_ids`` for counting (the flagged ones excepted)
        and wake the counting job; for the paths that log events by other means."""
        if not event_ids:
            return
        self.env.flush_all()
        crm_lead_event_queue.enqueue(self.env, event_ids)
        self.env['crm.lead.event.queue'].invalidate_model()
        self.invalidate_model(['state'])
        self._trigger_count_job()

    @api.model
    def _log_odoo_events(self, rows, source):
        """Log events seen in Odoo's own records (emails, activities, meetings).

        :param rows: dicts as for :meth:`_insert_events`; a type code that does
            not exist or is archived is left out
        """
        return self._insert_events(rows, source)

    @api.model
    def _trigger_count_job(self):
        """Have the counting job run once this transaction commits (see ``bulk.trigger_job``):
        one trigger per transaction, however many batches it logs."""
        bulk.trigger_job(self.env, 'lead_intelligence.ir_cron_count_events')

    # ------------------------------------------------------------
    # COUNTING
    # ------------------------------------------------------------

    @api.model
    def _cron_count_events(self):
        """Count the pending events, one claimed chunk of leads per transaction.

        Leads are claimed with ``FOR NO KEY UPDATE SKIP LOCKED`` so that several
        workers split the work; their queued events are then taken off the
        queue by a DELETE whose rows no concurrent transaction may have deleted
        since this one's snapshot (REPEATABLE READ), so an event is never
        counted twice: the later worker's chunk fails to serialize and is
        redone on a fresh snapshot, where the events are no longer queued.
        """
        self.env.flush_all()
        IrCron = self.env['ir.cron']
        Lead = self.env['crm.lead']
        pending = self.env.execute_query(SQL('SELECT count(*) FROM crm_lead_event_queue'))[0][0]
        IrCron._commit_progress(remaining=pending)
        chunk = bulk.chunk_size(self.env)
        max_events = bulk.chunk_size(self.env, 'lead_intelligence.event_chunk_size', EVENT_CHUNK_SIZE)
        after = 0
        config = None
        while True:
            # a chunk is at most ``chunk`` leads and about ``max_events`` events: memory stays
            # bounded whatever a lead's backlog (one lead with more is a chunk of its own)
            pending_by_lead = self.env.execute_query(SQL(
                """SELECT lead_id, count(*) FROM crm_lead_event_queue
                    WHERE lead_id > %s GROUP BY lead_id ORDER BY lead_id LIMIT %s""",
                after, chunk))
            if not pending_by_lead:
                break
            counts = np.cumsum([count for _lead_id, count in pending_by_lead])
            keep = max(int(np.searchsorted(counts, max_events, side='right')), 1)
            candidates = [lead_id for lead_id, _count in pending_by_lead[:keep]]
            after = candidates[-1]
            config = config or Lead._get_scoring_config()
            counted = bulk.retry_on_conflict(
                self.env, lambda candidates=candidates, config=config: self._count_chunk(candidates, config))
            if not IrCron._commit_progress(counted):
                return
        IrCron._commit_progress(remaining=0)

    @api.model
    def _count_chunk(self, candidate_lead_ids, config):
        """Count the pending events of the leads ``candidate_lead_ids`` this worker can lock.

        Reads and writes are one statement each for the whole chunk: read the
        queued events and the counted ones of the same days (caps and bursts),
        flag, take them off the queue (the claim), record the reason of the
        flagged ones, fold the counted ones into the decayed engagement, add
        them to the counters (one UPDATE of each lead touched), then rescore
        those leads.

        :return: the number of events handled (counted or flagged)
        """
        lead_ids = [row[0] for row in self.env.execute_query(SQL(
            'SELECT id FROM crm_lead WHERE id = ANY(%s::int[]) ORDER BY id FOR NO KEY UPDATE SKIP LOCKED',
            arrays.int_array_literal(candidate_lead_ids)))]
        if not lead_ids:
            return 0
        rows = self.env.execute_query(SQL(
            """SELECT event_id, lead_id, type_id, extract(epoch FROM occurred_at)::float8, COALESCE(value, 'NaN')
                 FROM crm_lead_event_queue WHERE lead_id = ANY(%s::int[])""",
            arrays.int_array_literal(lead_ids)))
        if not rows:
            return 0
        queued = QueuedEvents.from_matrix(np.array(rows, dtype=np.float64))
        types = self._get_event_types()
        settings = self.env['res.config.settings']._get_lead_intelligence_settings()

        # counted events of the same leads and days: the context of caps and bursts
        day = np.floor(queued.ts / behaviour.SECONDS_PER_DAY).astype(np.int64)
        leads, days = np.unique(np.column_stack([queued.lead_id, day]), axis=0).T
        prior = self.env.execute_query(SQL(
            """SELECT e.lead_id, e.type_id, extract(epoch FROM e.occurred_at)::float8
                 FROM unnest(%(leads)s::int[], %(days)s::float8[]) AS d(lead_id, day)
                 JOIN crm_lead_event e ON e.lead_id = d.lead_id
                  AND e.occurred_at >= to_timestamp(d.day * %(day)s - %(window)s) AT TIME ZONE 'UTC'
                  AND e.occurred_at < to_timestamp((d.day + 1) * %(day)s) AT TIME ZONE 'UTC'
                WHERE e.filter_reason IS NULL
                  AND NOT EXISTS (SELECT 1 FROM crm_lead_event_queue q WHERE q.event_id = e.id)""",
            leads=arrays.int_array_literal(leads), days=arrays.float_array_literal(days),
            day=behaviour.SECONDS_PER_DAY, window=settings['burst_seconds']))
        prior = TimedEvents.from_matrix(np.array(prior, dtype=np.float64).reshape(len(prior), 3))
        reasons = behaviour.flag_events(queued, prior, behaviour.EventFilter(
            type_ids=types.id, daily_caps=types.daily_cap, burst_count=settings['burst_count'],
            burst_seconds=settings['burst_seconds']))
        flagged = reasons != behaviour.OK
        # the claim: an event another transaction counted since this one's snapshot makes
        # it fail to serialize (REPEATABLE READ), so it can never be counted twice
        crm_lead_event_queue.claim(self.env, queued.event_id)
        if flagged.any():
            crm_lead_event.set_filter_reasons(
                self.env, queued.event_id[flagged].tolist(),
                [behaviour.REASON_CODES[reason] for reason in reasons[flagged].tolist()])
        counted = queued.take(~flagged)
        if len(counted):
            self._fold_counted(counted, types)
        touched = np.unique(counted.lead_id).tolist()
        if touched:
            self.env['crm.lead']._score_leads(touched, 'event', config)
        self.env['crm.lead.event.queue'].invalidate_model()
        self.invalidate_model(['state', 'filter_reason'])
        return len(rows)

    @api.model
    def _get_event_types(self):
        """The event types as counting reads them, archived ones included.

        :rtype: engine.events.EventTypes
        """
        # sudo: counting runs over every event type, archived ones included
        all_types = self.env['crm.lead.event.type'].sudo().with_context(active_test=False)
        types = all_types.search([], order='id')  # pylint: disable=no-search-all
        return EventTypes(
            id=types.ids, daily_cap=types.mapped('daily_cap'), half_life=types.mapped('half_life'),
            per_minute=[event_type.points_per == 'minute' for event_type in types],
            buying_signal=types.mapped('is_buying_signal'),
            # engagement is what earns points: a bounce is counted, but is no engagement
            engaging=[event_type.points > 0 for event_type in types],
            counter=[event_type.counter_field or '' for event_type in types])

    @api.model
    def _fold_counted(self, events, types):
        """Add counted events to the engagement sums (one upsert) and to the
        leads' counters (one UPDATE, each lead once).

        :param events: the counted events, an :class:`engine.events.QueuedEvents`
        :param types: the event types, an :class:`engine.events.EventTypes`
        """
        type_index = types.index_of(events.type_id)
        pairs, group = np.unique(np.column_stack([events.lead_id, type_index]), axis=0, return_inverse=True)
        pair_leads, pair_types = pairs.T
        group = group.reshape(-1)
        sums = self._read_engagement_sums(pair_leads, types.id[pair_types])
        grouped = GroupedUnits(group=group, units=behaviour.event_units(types.per_minute[type_index], events.value),
                               ts=events.ts)
        crm_lead_engagement.upsert(self.env, behaviour.accumulate(sums, grouped, types.half_life[pair_types]))
        # counters: one column of increments per counter field, one row per lead
        leads, lead_index = np.unique(events.lead_id, return_inverse=True)
        lead_index = lead_index.reshape(-1)
        counter_of_event = types.counter[type_index]
        signal = types.buying_signal[type_index]
        increments = {}
        for counter, mode in COUNTER_FIELDS.items():
            mask = behaviour.counter_events(counter, counter_of_event, signal)
            if mask.any():
                added = np.zeros(len(leads))
                np.add.at(added, lead_index[mask],
                          np.nan_to_num(events.value[mask], nan=0.0) if mode == VALUE else np.ones(int(mask.sum())))
                increments[counter] = np.rint(added).astype(np.int64)
        engaging = types.engaging[type_index]
        latest = np.full(len(leads), -np.inf)
        np.maximum.at(latest, lead_index[engaging], events.ts[engaging])
        crm_lead.add_event_counts(self.env, leads, latest, increments)
        self.env['crm.lead'].invalidate_model(['last_engagement_date', *COUNTER_FIELDS])
        self.env['crm.lead.engagement'].invalidate_model()

    @api.model
    def _read_engagement_sums(self, lead_ids, type_ids):
        """The stored engagement sums of the (lead, type) pairs ``lead_ids``, ``type_ids``, in one query.

        :return: an :class:`engine.events.EngagementSums` aligned with the pairs (0 units for no sum yet)
        """
        stored = self.env.execute_query(SQL(
            """SELECT p.n - 1, s.units, extract(epoch FROM s.ref_date)::float8
                 FROM unnest(%s::int[], %s::int[]) WITH ORDINALITY AS p(lead_id, type_id, n)
                 JOIN crm_lead_engagement s ON s.lead_id = p.lead_id AND s.type_id = p.type_id""",
            arrays.int_array_literal(lead_ids), arrays.int_array_literal(type_ids)))
        units, refs = np.zeros(len(lead_ids)), np.zeros(len(lead_ids))
        if stored:
            position, stored_units, stored_refs = np.array(stored, dtype=np.float64).T
            position = position.astype(np.int64)
            units[position], refs[position] = stored_units, stored_refs
        return EngagementSums(lead_id=lead_ids, type_id=type_ids, units=units, ref=refs)
