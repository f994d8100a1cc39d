from datetime import timedelta

from odoo import api, fields, models

from ...engine import behaviour, segment
from ..writes import crm_lead_segment_event, crm_lead_segment_identity
from .crm_lead_event import FILTER_REASON_LABELS

KEEP_DAYS = 90  # an anonymous visitor not identified within this many days is forgotten
LEAD_KEYS = ('lead_id', 'email', 'lead_ref')
REASONS_BY_CODE = {code: reason for reason, code in behaviour.REASON_CODES.items()}


class CrmLeadSegmentEvent(models.Model):
    """A Segment call of an anonymous visitor no lead is known for yet, kept until an ``identify``
    call names the lead: its events then join the lead's event log, counted once."""

    _name = 'crm.lead.segment.event'
    _description = 'Segment Event of an Anonymous Visitor'
    _order = 'occurred_at desc, id desc'
    _rec_name = 'message_id'
    _log_access = False  # written by SQL, in bulk

    anonymous_id = fields.Char('Anonymous ID', required=True, readonly=True)
    type_id = fields.Many2one('crm.lead.event.type', 'Event Type', required=True, readonly=True, ondelete='cascade')
    occurred_at = fields.Datetime('Date', required=True, readonly=True)
    message_id = fields.Char('Message ID', required=True, readonly=True)
    value = fields.Float(readonly=True)
    url = fields.Char('URL', readonly=True)
    filter_reason = fields.Selection(
        [(behaviour.REASON_CODES[reason], label) for reason, label in FILTER_REASON_LABELS.items()], readonly=True,
        help="Why the event will be kept but not counted.")
    company_id = fields.Many2one('res.company', required=True, readonly=True, ondelete='cascade')
    received_at = fields.Datetime('Received On', required=True, readonly=True)

    _company_message_id_uniq = models.UniqueIndex(
        '(company_id, message_id)', "This Segment call is already waiting for its visitor to be identified.")
    _company_anonymous_id_idx = models.Index('(company_id, anonymous_id)')

    @api.autovacuum
    def _gc_unidentified(self):
        """Forget the calls of the visitors not identified within :data:`KEEP_DAYS` days."""
        crm_lead_segment_event.delete_received_before(self.env, fields.Datetime.now() - timedelta(days=KEEP_DAYS))

    # ------------------------------------------------------------
    # INGESTION
    # ------------------------------------------------------------

    @api.model
    def _ingest(self, calls, kind=None, sent_at=None, create_leads=False):
        """Validate a batch of Segment calls, resolve their leads and log their events (the Segment
        endpoint's work); keep the events of anonymous visitors until an ``identify`` names their lead.

        Each call is checked on its own, as the event API's events are. Identifications come
        first, so that the events of a visitor identified in the same batch are the lead's; an
        identified visitor's waiting events then join the lead's log through the same insert as
        every event (counted once: a message id logged already is left out).

        :param calls: the calls as decoded from JSON
        :param kind: the call type of the endpoint (``track``...), None for a batch
        :param sent_at: the batch's ``sentAt``
        :param create_leads: a new lead is created for an unknown email
        :return: one ``{'index', 'status', 'reason'}`` per call, status ``accepted``,
            ``duplicate``, ``staged`` (kept until the visitor is identified) or ``rejected``;
            an accepted ``identify`` also gives ``linked``, the waiting events it logged
        """
        Event = self.env['crm.lead.event']
        rules = Event._get_event_rules()
        compiled = self.env['crm.lead.segment.mapping']._get_compiled_mappings()
        results = [None] * len(calls)
        identifies, events = [], []  # (index, lead or event, anonymous id)
        for index, raw in enumerate(calls):
            call, reason = segment.read_call(raw, compiled, rules.now, kind=kind, sent_at=sent_at)
            if call and call.kind == segment.IDENTIFY:
                target = dict(call.lead)
            elif call:
                target, reason = behaviour.validate_event(call.item, rules, lead_required=False)
            if not reason and 'email' in target:
                reason = Event._normalize_event_email(target)
            if reason:
                results[index] = {'index': index, 'status': 'rejected', 'reason': segment.segment_reason(reason)}
            else:
                (identifies if call.kind == segment.IDENTIFY else events).append((index, target, call.anonymous_id))
        links = self._identify(identifies, results, create_leads)
        self._log_or_stage(events, results, create_leads)
        self._link(links, identifies, results)
        return results

    @api.model
    def _identify(self, identifies, results, create_leads):
        """Resolve the leads of the ``identify`` calls ``identifies`` and record their visitors.

        :return: {anonymous id: lead id} of the visitors identified (the last call's lead for one
            identified twice)
        """
        lead_ids = self.env['crm.lead.event']._resolve_leads([target for _index, target, _anonymous in identifies],
                                                             create_leads)
        links = {}
        for (index, target, anonymous_id), lead_id in zip(identifies, lead_ids, strict=True):
            if lead_id:
                results[index] = {'index': index, 'status': 'accepted', 'reason': None, 'linked': 0}
                if anonymous_id:
                    links[anonymous_id] = lead_id
            else:
                results[index] = {'index': index, 'status': 'rejected', 'reason': self._no_lead_reason(target)}
        crm_lead_segment_identity.identify(self.env, list(links), list(links.values()))
        self.env['crm.lead.segment.identity'].invalidate_model()
        return links

    @api.model
    def _log_or_stage(self, events, results, create_leads):
        """Log the events of ``events`` whose lead is known (named, or an identified visitor's);
        keep those of anonymous visitors not identified yet; reject the others."""
        Event = self.env['crm.lead.event']
        named = [target for _index, target, _anonymous in events if set(LEAD_KEYS) & set(target)]
        named_leads = iter(Event._resolve_leads(named, create_leads))
        visitors = crm_lead_segment_identity.leads_of(
            self.env, sorted({anonymous for _index, _target, anonymous in events if anonymous}))
        rows, waiting = [], []
        for index, target, anonymous_id in events:
            lead_id = (next(named_leads) if set(LEAD_KEYS) & set(target) else 0) or visitors.get(anonymous_id, 0)
            if lead_id:
                rows.append((index, dict(target, lead_id=lead_id)))
            elif anonymous_id:
                waiting.append((index, target, anonymous_id))
            else:
                results[index] = {'index': index, 'status': 'rejected', 'reason': self._no_lead_reason(target)}
        inserted = Event._insert_events([row for _index, row in rows], 'segment')
        for position, (index, _row) in enumerate(rows):
            results[index] = {'index': index, 'status': 'accepted', 'reason': None} if position in inserted else \
                {'index': index, 'status': 'duplicate', 'reason': 'already logged'}
        if waiting:
            targets = [target for _index, target, _anonymous in waiting]
            kept = crm_lead_segment_event.stage(
                self.env, [anonymous for _index, _target, anonymous in waiting],
                *([target[key] for target in targets] for key in ('type', 'occurred_at', 'external_id', 'value',
                                                                  'url')),
                [behaviour.REASON_CODES.get(target['filter']) for target in targets])
            for position, (index, _target, _anonymous) in enumerate(waiting):
                results[index] = {'index': index, 'status': 'staged', 'reason': None} if position in kept else \
                    {'index': index, 'status': 'duplicate', 'reason': 'already waiting for its visitor'}
            self.invalidate_model()

    @api.model
    def _link(self, links, identifies, results):
        """Log the waiting events of the visitors ``links`` ({anonymous id: lead id}) as their leads'."""
        if not links:
            return
        rows = [
            {'lead_id': links[anonymous_id], 'type': code, 'occurred_at': occurred_at, 'external_id': message_id,
             'value': value, 'url': url, 'filter': REASONS_BY_CODE.get(reason, behaviour.OK),
             'anonymous_id': anonymous_id}
            for anonymous_id, code, occurred_at, message_id, value, url, reason
            in crm_lead_segment_event.take(self.env, links)]
        self.invalidate_model()
        inserted = self.env['crm.lead.event']._insert_events(rows, 'segment')
        linked = {}
        for position in inserted:
            linked[rows[position]['anonymous_id']] = linked.get(rows[position]['anonymous_id'], 0) + 1
        last = {anonymous_id: index for index, _target, anonymous_id in identifies if anonymous_id}
        for anonymous_id, index in last.items():
            if results[index]['status'] == 'accepted':
                results[index]['linked'] = linked.get(anonymous_id, 0)

    @api.model
    def _no_lead_reason(self, target):
        key = next((key for key in LEAD_KEYS if key in target), None)
        if key is None:
            return "no lead: the call names none and has no 'anonymousId' to wait with"
        return segment.segment_reason(f"no lead with '{key}' {target[key]!r}")
