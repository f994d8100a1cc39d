import dataclasses
import logging
from dataclasses import dataclass
from datetime import UTC, timedelta

import numpy as np
from markupsafe import Markup, escape

from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.fields import Domain
from odoo.tools import SQL

from ...engine import arrays, routing
from ...engine.stages import FieldChanges, Notes, TrackingCells
from .. import bulk
from ..classification.dimensions import COMPANY_SIZES
from ..writes import crm_lead as lead_writes

_logger = logging.getLogger(__name__)

ROUTING_STATES = [
    ('to_route', 'To Route'), ('routed', 'Routed'), ('nurtured', 'Nurtured'), ('unroutable', 'Unroutable'),
    ('manual', 'Assigned by Hand'),
]
# the states of the leads routing handles: Odoo's own assignment leaves them alone
ROUTING_OWNED_STATES = ('to_route', 'routed', 'nurtured', 'unroutable')
SLA_STATUSES = [('pending', 'Pending'), ('on_time', 'On Time'), ('breached', 'Breached'), ('met_late', 'Met Late')]
ROUTE_CHUNK_SIZE = 5000  # leads routed and committed together
LOCKED_RETRY_SECONDS = 30  # the routing job runs again this soon when leads to route were locked
ROUND_ROBIN_WINDOW = timedelta(days=1)  # round robin takes turns over the leads received this long
# the lead's profile that skills match, with the member's skill field of each dimension
SKILL_DIMENSIONS = (
    ('industry_id', 'skill_industry_ids'), ('country_id', 'skill_country_ids'), ('lang_id', 'skill_lang_ids'),
    ('company_size', 'skill_company_sizes'),
)
SIZE_CODES = [key for key, _label in COMPANY_SIZES]


@dataclass
class RoutingConfig:
    """What routing a chunk needs, read once per pass: the rules and the members they route to."""

    rules: models.BaseModel  # active rules, in order
    rule_valid: np.ndarray  # (r,) the rule's condition parses
    rule_errors: dict  # rule id -> why its condition does not parse
    rule_tiers: list  # per rule, the set of its tier ids
    rule_company: np.ndarray  # (r,) company id, 0 for every company
    members: models.BaseModel  # every member of the rules' teams, in id order
    rule_members: np.ndarray  # (r, m) bool
    available: np.ndarray  # (m,) bool
    skill_values: list  # per dimension, per member: the set of its skill values (ids; sizes: see SIZE_CODES)
    topic_skills: list  # per member: the set of its content topic ids
    member_user: np.ndarray  # (m,) user id
    member_team: np.ndarray  # (m,) team id
    nurture_tiers: dict  # tier id -> nurture tag id (0: none)


class CrmLead(models.Model):
    _inherit = 'crm.lead'

    routing_state = fields.Selection(
        ROUTING_STATES, readonly=True, copy=False, system_owned=True,
        help="To Route: waits for the routing job. Routed: a routing rule chose the salesperson. Nurtured: a tier "
             "without salesperson. Unroutable: no rule or no available salesperson could take it (see the reason). "
             "Assigned by Hand: a user chose the salesperson; routing leaves the lead alone.")
    routing_rule_id = fields.Many2one('crm.lead.routing.rule', readonly=True, copy=False, system_owned=True,
                                      ondelete='set null')
    routing_reason = fields.Text(readonly=True, copy=False, system_owned=True)
    routed_date = fields.Datetime('Routed On', readonly=True, copy=False, system_owned=True)
    sla_deadline = fields.Datetime('First Contact Deadline', readonly=True, copy=False, system_owned=True)
    first_contact_date = fields.Datetime(
        'First Contact', readonly=True, copy=False, system_owned=True,
        help="When the salesperson first marked an activity done or sent a message on the lead after routing.")
    sla_status = fields.Selection(SLA_STATUSES, 'SLA', readonly=True, copy=False, system_owned=True)
    escalation_level = fields.Integer(
        readonly=True, copy=False, system_owned=True,
        help="0: none; 1: owner reminded; 2: team leader notified; 3: reassignment attempted.")
    routing_history_ids = fields.One2many('crm.lead.routing.history', 'lead_id')
    routing_explanation = fields.Html(compute='_compute_routing_explanation', sanitize=False)

    _routing_to_route_idx = models.Index("(id) WHERE routing_state = 'to_route'")
    _routing_unroutable_idx = models.Index("(id) WHERE routing_state = 'unroutable'")
    _routing_sla_watch_idx = models.Index(
        "(sla_deadline) WHERE routing_state = 'routed' AND first_contact_date IS NULL")

    @api.depends('routing_state', 'routing_reason', 'routing_rule_id', 'sla_deadline', 'sla_status')
    def _compute_routing_explanation(self):
        states = dict(self._fields['routing_state']._description_selection(self.env))
        statuses = dict(self._fields['sla_status']._description_selection(self.env))
        for lead in self:
            parts = [Markup('<p class="mb-1"><b>%s</b></p>') % (
                states.get(lead.routing_state) or self.env._('Not routed'))]
            parts += [Markup('<p class="mb-0">%s</p>') % line for line in (lead.routing_reason or '').splitlines()]
            if lead.sla_deadline:
                parts.append(Markup('<p class="mb-0 mt-1">%s</p>') % self.env._(
                    'First contact due by %(deadline)s (UTC): %(status)s.',
                    deadline=lead.sla_deadline, status=statuses.get(lead.sla_status, '-')))
            lead.routing_explanation = Markup('').join(parts)

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    def write(self, vals):
        """A salesperson chosen by a user (or by Odoo's own assignment) takes the lead out of routing."""
        owned = self.browse()
        if 'user_id' in vals:
            # routing itself writes by SQL: whoever writes here chooses the salesperson
            owned = self.filtered(lambda lead: lead.routing_state in ROUTING_OWNED_STATES
                                  and lead.user_id.id != vals['user_id'])
        res = super().write(vals)
        if owned:
            lead_writes.set_assigned_by_hand(self.env, owned.ids)
            owned.invalidate_recordset(['routing_state'])
        return res

    @api.model
    def _search(self, domain, offset=0, limit=None, order=None, **kwargs):
        # Odoo's team allocation (crm.team._allocate_leads) searches leads with this key:
        # the leads routing handles are not for it to take (see readme/USAGE.md)
        if self.env.context.get('lead_intelligence_exclude_routed'):
            domain = Domain(domain) & Domain('routing_state', 'not in', ROUTING_OWNED_STATES)
        return super()._search(domain, offset=offset, limit=limit, order=order, **kwargs)

    # ------------------------------------------------------------
    # SCORING HOOKS
    # ------------------------------------------------------------

    @api.model
    def _on_tier_moves(self, ids, old_tier_ids, new_tier_ids):
        """A lead whose tier moves to a tier routing handles waits for routing, in the same pass."""
        res = super()._on_tier_moves(ids, old_tier_ids, new_tier_ids)
        self._mark_to_route(ids.tolist())
        return res

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_route_leads(self):
        """Server action: route the selection now (open leads with a tier), or queue it when it is large.

        For sales managers (the group the server action is bound to), on leads they may
        write: routing writes by SQL and hands the leads to the rules' salespeople.
        """
        if not self.env.su and not self.env.user.has_group('sales_team.group_sale_manager'):
            raise AccessError(self.env._('Only sales managers may route leads.'))
        self.check_access('write')
        self.env.flush_all()
        ids = lead_writes.queue_for_routing(self.env, self.ids)
        self.invalidate_recordset(['routing_state'])
        if len(ids) <= self._get_routing_chunk_size():
            counts = self._route_leads(ids) if ids else {}
            message = self.env._(
                '%(routed)s of %(count)s leads routed to a salesperson, %(nurtured)s nurtured, '
                '%(unroutable)s unroutable (see their routing reason).',
                routed=counts.get('routed', 0), count=len(self), nurtured=counts.get('nurtured', 0),
                unroutable=counts.get('unroutable', 0))
        else:
            self.env.ref('lead_intelligence.ir_cron_route_leads')._trigger()
            message = self.env._('%s leads are queued: the routing job routes them in the background.', len(ids))
        return {
            'type': 'ir.actions.client',
            'tag': 'display_notification',
            'params': {
                'title': self.env._('Lead routing'),
                'message': message,
                'type': 'success',
                'next': {'type': 'ir.actions.act_window_close'},
            },
        }

    def action_explain_routing(self):
        """The 'Why this salesperson?' dialog."""
        self.ensure_one()
        return {
            'type': 'ir.actions.act_window',
            'name': self.env._('Why this salesperson?'),
            'res_model': 'crm.lead',
            'res_id': self.id,
            'view_mode': 'form',
            'views': [(self.env.ref('lead_intelligence.crm_lead_view_form_routing_explanation').id, 'form')],
            'target': 'new',
        }

    def action_open_routing_history(self):
        self.ensure_one()
        action = self.env['ir.actions.act_window']._for_xml_id('lead_intelligence.crm_lead_routing_history_action')
        action.update({'domain': [('lead_id', '=', self.id)], 'context': {}})
        return action

    # ------------------------------------------------------------
    # CRONS
    # ------------------------------------------------------------

    @api.model
    def _cron_route_leads(self):
        """Route the leads waiting for it, one claimed chunk per transaction.

        ``FOR NO KEY UPDATE SKIP LOCKED`` lets several workers run at once, each on
        leads no other holds; the members' rows serialize their capacities (see
        :meth:`_route_claimed`). A killed run loses only its current chunk: the
        leads are still waiting, for the next run.
        """
        self.env.flush_all()
        IrCron = self.env['ir.cron']
        IrCron._commit_progress(remaining=self._count_leads_to_route())
        config = None
        while True:
            config = config or self._get_routing_config()
            done = bulk.retry_on_conflict(self.env, lambda config=config: self._route_claimed(bulk.claim_leads(
                self.env, SQL("""SELECT id FROM crm_lead WHERE routing_state = 'to_route' AND active
                                   AND won_status = 'pending'
                                 ORDER BY id LIMIT %s FOR NO KEY UPDATE SKIP LOCKED""",
                              self._get_routing_chunk_size())), config))
            if not done:
                break
            if not IrCron._commit_progress(done):
                return
        # nothing left to claim, but leads may wait under another transaction's lock (the
        # counting job holds the leads it counts): run again shortly rather than in 5 minutes
        if self._count_leads_to_route():
            self.env.ref('lead_intelligence.ir_cron_route_leads')._trigger(
                fields.Datetime.now() + timedelta(seconds=LOCKED_RETRY_SECONDS))
        IrCron._commit_progress(remaining=0)

    @api.model
    def _count_leads_to_route(self):
        return self.env.execute_query(SQL(
            "SELECT count(*) FROM crm_lead WHERE routing_state = 'to_route' AND active AND won_status = 'pending'"
        ))[0][0]

    @api.model
    def _cron_check_sla(self):
        """Watch the first-contact deadlines: record first contacts, flag breaches and escalate
        breached leads as their tier says, one claimed chunk per transaction."""
        self.env.flush_all()
        IrCron = self.env['ir.cron']
        now = fields.Datetime.now()
        bulk.retry_on_conflict(self.env, lambda: self._record_first_contacts(now))
        IrCron._commit_progress(0)
        config = self._get_routing_config()
        after_id = 0

        def escalate_chunk():
            ids = bulk.claim_leads(self.env, SQL(
                """SELECT lead.id FROM crm_lead lead JOIN crm_lead_tier tier ON tier.id = lead.tier_id
                    WHERE lead.routing_state = 'routed' AND lead.first_contact_date IS NULL
                      AND lead.sla_deadline < %(now)s AND lead.id > %(after)s AND lead.user_id IS NOT NULL
                      AND COALESCE(lead.escalation_level, 0) < CASE WHEN tier.escalation_reassign_hours > 0 THEN 3
                                                                    WHEN tier.escalation_leader_hours > 0 THEN 2
                                                                    ELSE 1 END
                    ORDER BY lead.id LIMIT %(limit)s FOR NO KEY UPDATE OF lead SKIP LOCKED""",
                now=now, after=after_id, limit=self._get_routing_chunk_size()))
            if ids:
                self._escalate(ids, config, now)
            return ids

        while ids := bulk.retry_on_conflict(self.env, escalate_chunk):
            after_id = ids[-1]
            if not IrCron._commit_progress(len(ids)):
                return
        IrCron._commit_progress(remaining=0)

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    @api.model
    def _get_routing_chunk_size(self):
        return bulk.chunk_size(self.env, 'lead_intelligence.routing_chunk_size', ROUTE_CHUNK_SIZE)

    @api.model
    def _mark_to_route(self, lead_ids):
        """Put the given leads, whose tier just moved, in the routing queue when their new
        tier is routed (a rule's or a nurtured one), out of it when it is not.

        Leads a user assigned by hand, leads with a salesperson routing did not choose and
        leads already contacted keep their owner.
        """
        tier_ids = self.env['crm.lead.routing.rule']._get_routed_tiers().ids
        lead_writes.queue_tier_moves(self.env, lead_ids, tier_ids)
        self.invalidate_model(['routing_state'])

    @api.model
    def _requeue_unroutable(self):
        """The routing configuration changed: the unroutable leads wait for routing again."""
        self.flush_model(['routing_state'])
        requeued = lead_writes.requeue_unroutable(self.env)
        self.invalidate_model(['routing_state'])
        cron = self.env.ref('lead_intelligence.ir_cron_route_leads', raise_if_not_found=False)
        if requeued and cron:
            # sudo: a sales manager editing the configuration schedules the system's own job
            cron.sudo()._trigger()

    @api.model
    def _route_leads(self, lead_ids):
        """Route the given leads now (they are to route), in chunks, in this transaction."""
        config = self._get_routing_config()
        counts = {}
        size = self._get_routing_chunk_size()
        for start in range(0, len(lead_ids), size):
            # in a user's request: a conflict with a concurrent worker fails the request, which Odoo retries
            chunk = [row[0] for row in self.env.execute_query(SQL(
                """SELECT id FROM crm_lead WHERE id = ANY(%s) AND routing_state = 'to_route' ORDER BY id
                   FOR NO KEY UPDATE""", lead_ids[start:start + size]))]
            for key, value in self._route_claimed(chunk, config, counts=True).items():
                counts[key] = counts.get(key, 0) + value
        return counts

    @api.model
    def _get_routing_config(self):
        # sudo: routing runs as the cron or any user routing a selection, over every active rule and member
        Rule = self.env['crm.lead.routing.rule'].sudo()
        rules = Rule.search([])  # pylint: disable=no-search-all
        # a rule set aside by an earlier run keeps claiming its leads until it is saved again
        errors = {rule.id: rule.error_message for rule in rules if rule.error_message}
        for rule in rules - rules.filtered('error_message'):
            try:
                rule._parse_domain()
            except ValidationError as error:
                errors[rule.id] = str(error)
        members = (rules.team_id.crm_team_member_ids | rules.member_ids).sorted('id')
        index = {member.id: position for position, member in enumerate(members)}
        rule_members = np.zeros((len(rules), len(members)), dtype=bool)
        for row, rule in enumerate(rules):
            rule_members[row, [index[member.id] for member in rule._get_members() if member.id in index]] = True
        today = fields.Date.context_today(self)
        skill_values = [
            [set(member[skill_field].ids) for member in members] for _lead_field, skill_field in SKILL_DIMENSIONS[:3]
        ] + [[{SIZE_CODES.index(code) + 1 for code in member.skill_company_sizes.mapped('code')} for member in members]]
        # sudo: the system's own job reads the tiers, whoever triggers it
        nurture = self.env['crm.lead.tier'].sudo().search([('nurture', '=', True)])
        return RoutingConfig(
            rules=rules,
            rule_valid=np.array([rule.id not in errors for rule in rules], dtype=bool),
            rule_errors=errors,
            rule_tiers=[set(rule.tier_ids.ids) for rule in rules],
            rule_company=np.array([rule.company_id.id or 0 for rule in rules], dtype=np.int64),
            members=members,
            rule_members=rule_members,
            available=np.array([member._is_routing_available(today) for member in members], dtype=bool),
            skill_values=skill_values,
            topic_skills=[set(member.skill_topic_ids.ids) for member in members],
            member_user=np.array([member.user_id.id for member in members], dtype=np.int64),
            member_team=np.array([member.crm_team_id.id for member in members], dtype=np.int64),
            nurture_tiers={tier.id: tier.nurture_tag_id.id or 0 for tier in nurture},
        )

    def _read_routing_rows(self, lead_ids, config):
        """Read the leads to route with every valid rule matched, in one query.

        :return: :class:`engine.routing.RoutingRows`, with the index of the first rule
            that routes each lead (-1: none)
        """
        query = self._query_leads(lead_ids)
        valid = config.rules.filtered(lambda rule: rule.id not in config.rule_errors)
        line = query.left_join('crm_lead', 'score_line_id', 'crm_lead_score', 'id', 'score_line_id')
        columns = {
            'id': SQL('crm_lead.id'), 'company_id': SQL('COALESCE(crm_lead.company_id, 0)'),
            'tier_id': SQL('COALESCE(crm_lead.tier_id, 0)'),
            'score': SQL('COALESCE(%s, 0)', SQL.identifier(line, 'score')),
            'user_id': SQL('COALESCE(crm_lead.user_id, 0)'), 'industry_id': SQL('COALESCE(crm_lead.industry_id, 0)'),
            'country_id': SQL('COALESCE(crm_lead.country_id, 0)'), 'lang_id': SQL('COALESCE(crm_lead.lang_id, 0)'),
            'company_size': SQL('COALESCE(array_position(%s::varchar[], crm_lead.company_size::varchar), 0)',
                                SIZE_CODES),
        }
        # a rule failing in the database is set aside there (its error stored) and matches nothing
        data, valid_matches = valid._read_matches(query, [columns[name] for name in routing.RoutingRows.read_names()])
        leads = routing.RoutingRows.from_read(data)
        for position, rule in enumerate(valid):
            if rule.error_message:  # set aside just now: invalid from here on, like one that does not parse
                config.rule_errors[rule.id] = rule.error_message
                config.rule_valid[config.rules.ids.index(rule.id)] = False
                valid_matches[:, position] = True
        n = len(leads)
        # an invalid rule claims every lead of its tiers: routing them by a later rule would be a guess
        matches = np.ones((n, len(config.rules)), dtype=bool)
        matches[:, [config.rules.ids.index(rule_id) for rule_id in valid.ids]] = valid_matches
        for row, rule_tiers in enumerate(config.rule_tiers):
            matches[:, row] &= np.isin(leads.tier_id, list(rule_tiers))
            if config.rule_company[row]:
                matches[:, row] &= leads.company_id == config.rule_company[row]
        first = np.where(matches.any(axis=1), np.argmax(matches, axis=1), -1) if len(config.rules) \
            else np.full(n, -1)
        return dataclasses.replace(leads, rule=first)

    def _route_claimed(self, lead_ids, config, counts=False, reassign=False):
        """Route the claimed leads ``lead_ids``: nurture those of a nurtured tier, compute the
        assignment of the others in the engine, write it back in bulk.

        The rows of the members the rules route to are updated first, so that a worker
        routing at the same time waits for this one's commit, then fails to serialize and
        starts over from a snapshot where this one's leads count in the capacities.

        :param reassign: the leads move away from their current owner (SLA escalation)
        :return: the number of leads handled (``counts``: {'routed', 'nurtured', 'unroutable'})
        """
        if not lead_ids:
            return {} if counts else 0
        self.env.flush_all()
        self.env.cr.execute('SET LOCAL jit = off')
        now = fields.Datetime.now()
        self._lock_routing_members(config, now)
        leads = self._read_routing_rows(lead_ids, config)
        nurtured = np.isin(leads.tier_id, list(config.nurture_tiers)) & (not reassign)
        if nurtured.any():
            self._nurture(leads.take(nurtured), config, now)
        todo = leads.take(~nurtured)
        result = self._assign_in_engine(todo, config, reassign)
        self._write_assignment(todo, result, config, now, reassign)
        self._on_pass_changes(self._routing_changes(leads, nurtured, result, config, reassign))
        self.invalidate_model()
        if counts:
            routed = int((result.member >= 0).sum())
            return {'routed': routed, 'nurtured': int(nurtured.sum()), 'unroutable': len(todo) - routed}
        return len(leads)

    def _routing_changes(self, leads, nurtured, result, config, reassign):
        """What routing changed of the claimed leads ``leads`` (:class:`engine.routing.RoutingRows`;
        ``nurtured``: (n,) bool, those nurtured; ``result``: the engine's assignment of the others),
        as :class:`engine.stages.FieldChanges`: their salesperson and, out of the queue (a
        reassignment keeps it), their routing state.
        """
        routed = np.zeros(len(leads), dtype=bool)
        routed[~nurtured] = result.member >= 0
        new_user = np.where(nurtured, 0, leads.user_id)
        new_user[routed] = config.member_user[result.member[result.member >= 0]]
        changes = [FieldChanges.of_field('user_id', leads.id, leads.user_id, new_user)]
        if not reassign:
            changes.append(FieldChanges.of_field(
                'routing_state', leads.id, ['to_route'] * len(leads),
                np.where(nurtured, 'nurtured', np.where(routed, 'routed', 'unroutable')).tolist()))
        return FieldChanges.concatenate(*changes)

    def _lock_routing_members(self, config, now):
        """Lock and stamp the rows of the members the rules route to (see :meth:`_route_claimed`)."""
        if config.members:
            self.env.execute_query(SQL(
                'SELECT id FROM crm_team_member WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE',
                config.members.ids))
            self.env.execute_query(SQL(
                'UPDATE crm_team_member SET routing_date = %s WHERE id = ANY(%s)', now, config.members.ids))

    def _assign_in_engine(self, leads, config, reassign):
        """Build the engine's arrays for the leads ``leads`` (:class:`engine.routing.RoutingRows`)
        and assign them."""
        members = config.members
        tier_ids = np.unique(leads.tier_id)
        tier_index = np.searchsorted(tier_ids, leads.tier_id)
        capacity = np.zeros((len(members), len(tier_ids)), dtype=np.int64)
        open_leads = np.zeros_like(capacity)
        member_index = {member_id: position for position, member_id in enumerate(members.ids)}
        if len(members) and len(tier_ids):
            rows = self.env.execute_query(SQL(
                """SELECT member_id, tier_id, max_open_leads FROM crm_team_member_capacity
                    WHERE member_id = ANY(%s) AND tier_id = ANY(%s)""", members.ids, tier_ids.tolist()))
            for member_id, tier_id, max_open in rows:
                capacity[member_index[member_id], np.searchsorted(tier_ids, tier_id)] = max_open
            counts = members._get_open_lead_counts(tier_ids.tolist(), leads.id.tolist())
            for (member_id, tier_id), count in counts.items():
                open_leads[member_index[member_id], np.searchsorted(tier_ids, tier_id)] = count
        # profile codes: each dimension's values, leads' and skills' together, as indices
        codes, skills = [], []
        for lead_values, member_values in zip(leads.profile(), config.skill_values, strict=True):
            vocabulary = np.array(sorted(set(lead_values.tolist()) | set().union(*member_values, set())) or [0])
            lead_codes = np.searchsorted(vocabulary, lead_values)
            lead_codes[lead_values == 0] = -1
            matrix = np.zeros((len(members), len(vocabulary)), dtype=bool)
            for position, values in enumerate(member_values):
                matrix[position, np.searchsorted(vocabulary, sorted(values))] = True
            codes.append(lead_codes)
            skills.append(matrix)
        # content topics: a lead has several, a member's topic skill matches any of them
        rows, topic_ids = self._read_routing_topics(leads.id)
        vocabulary = np.array(sorted(set(topic_ids.tolist()).union(*config.topic_skills)) or [0])
        topic_skills = np.zeros((len(members), len(vocabulary)), dtype=bool)
        for position, values in enumerate(config.topic_skills):
            topic_skills[position, np.searchsorted(vocabulary, sorted(values))] = True
        rules = routing.Rules(
            members=config.rule_members, valid=config.rule_valid,
            round_robin=np.array([rule.method == 'round_robin' for rule in config.rules], dtype=bool),
            received=self._read_round_robin_received(config))
        exclude = np.full(len(leads), -1, dtype=np.int64)
        if reassign:
            rule_team = np.array([rule.team_id.id for rule in config.rules] or [0])[np.maximum(leads.rule, 0)]
            for i, (user_id, team_id) in enumerate(zip(leads.user_id.tolist(), rule_team.tolist(), strict=True)):
                owner = np.flatnonzero((config.member_user == user_id) & (config.member_team == team_id))
                exclude[i] = owner[0] if len(owner) else -1
        return routing.assign(
            routing.Leads(id=leads.id, score=leads.score, tier=tier_index, rule=leads.rule, profile=tuple(codes),
                          exclude=exclude, interests=((rows, np.searchsorted(vocabulary, topic_ids)),)),
            rules,
            routing.Members(ids=np.array(members.ids, dtype=np.int64), skills=tuple(skills),
                            available=config.available, capacity=capacity, open_leads=open_leads,
                            set_skills=(topic_skills,)))

    def _read_routing_topics(self, lead_ids):
        """The top content topics of the leads ``lead_ids`` (n,): (rows, topic ids), an entry per topic of
        a lead, ``rows`` its position in ``lead_ids``."""
        lead_ids = np.asarray(lead_ids, dtype=np.int64)
        pairs = np.array(self.env.execute_query(SQL(
            'SELECT lead_id, topic_id FROM crm_lead_topic_rel WHERE lead_id = ANY(%s) ORDER BY lead_id, topic_id',
            lead_ids.tolist())), dtype=np.int64).reshape(-1, 2)
        order = np.argsort(lead_ids, kind='stable')
        rows = order[np.searchsorted(lead_ids[order], pairs[:, 0])]
        return rows, pairs[:, 1]

    def _read_round_robin_received(self, config):
        """Leads each member received from each round-robin rule lately: (r, m) ints."""
        received = np.zeros(config.rule_members.shape, dtype=np.int64)
        rr_rules = {rule.id: row for row, rule in enumerate(config.rules) if rule.method == 'round_robin'}
        if not rr_rules:
            return received
        rows = self.env.execute_query(SQL(
            """SELECT history.rule_id, history.team_id, history.to_user_id, count(*)
                 FROM crm_lead_routing_history history
                WHERE history.rule_id = ANY(%s) AND history.kind IN ('assign', 'reassign') AND history.date > %s
                GROUP BY 1, 2, 3""", list(rr_rules), fields.Datetime.now() - ROUND_ROBIN_WINDOW))
        for rule_id, team_id, user_id, count in rows:
            position = np.flatnonzero((config.member_user == user_id) & (config.member_team == team_id))
            if len(position):
                received[rr_rules[rule_id], position[0]] = count
        return received

    def _write_assignment(self, leads, result, config, now, reassign):
        """Write the engine's decisions on the leads ``leads`` (:class:`engine.routing.RoutingRows`):
        owners, SLA deadlines, follow-up activities, history and chatter, one statement per kind
        of write."""
        if not len(leads):
            return
        routed = result.member >= 0
        members = config.members
        rule_ids = np.array([rule.id for rule in config.rules] or [0], dtype=np.int64)[np.maximum(leads.rule, 0)]
        rule_ids[leads.rule < 0] = 0
        new_user = np.where(routed, config.member_user[np.maximum(result.member, 0)] if len(members) else 0, 0)
        decisions = routing.Decisions(
            id=leads.id, kind=np.where(routed, 'reassign' if reassign else 'assign', 'unroutable'),
            from_user_id=leads.user_id, user_id=new_user,
            team_id=np.where(routed, config.member_team[np.maximum(result.member, 0)] if len(members) else 0, 0),
            rule_id=rule_ids, tier_id=leads.tier_id, reason=self._format_routing_reasons(leads, result, config),
            deadline=self._compute_sla_deadlines(leads, new_user, routed, now))
        if routed.any():
            lead_writes.set_routed(self.env, decisions.take(routed), now)
        failed = ~routed
        if failed.any():
            if reassign:
                # the owner keeps the lead; the escalation stops here
                lead_writes.stop_escalation(self.env, leads.id[failed])
            else:
                lead_writes.set_unroutable(self.env, decisions.take(failed))
        self._log_routing_history(decisions, now)
        if routed.any():
            self._route_followup(decisions.take(routed), now)
        if reassign and failed.any():
            self._post_routing_notes(Notes.silent(leads.id[failed], decisions.take(failed).headlines()),
                                     now)

    def _route_followup(self, decisions, now):
        """What the new owners of routed leads get: the leads to follow, the tier's follow-up
        activity and a note in the chatter with the salesperson's change.

        :param decisions: :class:`engine.routing.Decisions` of the routed leads
        """
        self._subscribe_owners(decisions.id, decisions.user_id)
        self._schedule_follow_ups(decisions)
        self._post_routing_notes(Notes.silent(decisions.id, decisions.headlines()), now,
                                 old_users=decisions.from_user_id, new_users=decisions.user_id)

    def _nurture(self, leads, config, now):
        """Leads of a nurtured tier (:class:`engine.routing.RoutingRows`): no salesperson, the tier's nurture tag."""
        reason = self.env._('Nurtured: tier without salesperson, left to marketing.')
        ids, tiers, users = leads.id, leads.tier_id, leads.user_id
        lead_writes.set_nurtured(self.env, ids, reason, now)
        tags = np.array([config.nurture_tiers.get(tier, 0) for tier in tiers.tolist()], dtype=np.int64)
        if (tags > 0).any():
            self.env.execute_query(SQL(
                """INSERT INTO crm_tag_rel (lead_id, tag_id)
                   SELECT * FROM unnest(%s::int[], %s::int[]) ON CONFLICT DO NOTHING""",
                ids[tags > 0].tolist(), tags[tags > 0].tolist()))
        none = np.zeros(len(ids), dtype=np.int64)
        self._log_routing_history(routing.Decisions(
            id=ids, kind=np.full(len(ids), 'nurture'), from_user_id=users, user_id=none, team_id=none, rule_id=none,
            tier_id=tiers, reason=[reason] * len(ids), deadline=[None] * len(ids)), now)
        unassigned = users > 0
        if unassigned.any():
            count = int(unassigned.sum())
            self._post_routing_notes(Notes.silent(ids[unassigned], [reason] * count), now,
                                     old_users=users[unassigned], new_users=np.zeros(count, dtype=int))

    def _format_routing_reasons(self, leads, result, config):
        """The routing reason of each lead of ``leads`` (:class:`engine.routing.RoutingRows`), as
        lines of text: the decision, then the why."""
        rules = config.rules
        members = config.members
        user_names = {member.user_id.id: member.user_id.name for member in members}
        methods = dict(self.env['crm.lead.routing.rule']._fields['method']._description_selection(self.env))
        dimension_labels = [self.env._('industry'), self.env._('country'), self.env._('language'),
                            self.env._('company size')]
        topic_rows, topic_ids = self._read_routing_topics(leads.id)
        lead_topics = [set() for _lead in range(len(leads))]
        for row, topic_id in zip(topic_rows.tolist(), topic_ids.tolist(), strict=True):
            lead_topics[row].add(topic_id)
        why_not = {
            routing.NO_RULE: self.env._('No routing rule matches the lead (tier and condition).'),
            routing.NO_MEMBER: self.env._('The rule has no salesperson to route to.'),
            routing.UNAVAILABLE: self.env._(
                'Every salesperson of the rule is paused, opted out of assignment or out of office.'),
            routing.NO_CAPACITY: self.env._(
                'Every available salesperson of the rule is at capacity for the tier (or has none set).'),
        }
        reasons = []
        profile = leads.profile()
        for i in range(len(leads)):
            rule = rules[int(leads.rule[i])] if leads.rule[i] >= 0 else None
            member = int(result.member[i])
            if member < 0:
                code = int(result.reason[i])
                why = (self.env._('The condition of the rule cannot be used: %s', config.rule_errors.get(rule.id))
                       if code == routing.INVALID_RULE else why_not[code])
                header = (self.env._('Unroutable by rule "%(rule)s": %(why)s', rule=rule.name, why=why)
                          if rule else self.env._('Unroutable: %s', why))
                reasons.append(header)
                continue
            user_id = int(config.member_user[member])
            matched = [
                label for dimension, label in enumerate(dimension_labels)
                if profile[dimension][i] in config.skill_values[dimension][member]
            ] + ([self.env._('content topics')] if lead_topics[i] & config.topic_skills[member] else [])
            lines = [
                self.env._('Routed to %(user)s by rule "%(rule)s" (%(method)s).',
                           user=user_names.get(user_id, ''), rule=rule.name, method=methods[rule.method]),
                self.env._('Skills matched: %(matched)s (%(count)s of %(total)s).',
                           matched=', '.join(matched) or self.env._('none'), count=len(matched),
                           total=len(dimension_labels) + 1),
                self.env._('Load: %(load)s open leads of the tier out of a capacity of %(capacity)s.',
                           load=int(result.load[i]), capacity=int(result.capacity[i])),
            ]
            reasons.append('\n'.join(lines))
        return reasons

    def _compute_sla_deadlines(self, leads, users, routed, now):
        """First-contact deadline of each routed lead of ``leads`` (:class:`engine.routing.RoutingRows`,
        ``users`` their new owners): its tier's SLA hours, planned on the working schedule of its
        new owner, else of the lead's company (else wall-clock hours).

        Each distinct (schedule, hours) pair is planned once: a chunk routed together
        shares one start and a handful of schedules and tiers.
        """
        deadlines = [None] * len(leads)
        if not routed.any():
            return deadlines
        # sudo: the system's own job reads the tiers, whoever triggers it
        tiers = self.env['crm.lead.tier'].sudo().browse(np.unique(leads.tier_id[routed]).tolist())
        sla = {tier.id: tier.sla_hours for tier in tiers}
        hours = np.array([sla.get(tier, 0.0) for tier in leads.tier_id.tolist()])
        with_sla = routed & (hours > 0)
        if not with_sla.any():
            return deadlines
        # sudo: the routing job reads the schedules of the salespeople it routes to
        user_calendars = {user.id: user.resource_calendar_id.id for user in
                          self.env['res.users'].sudo().browse(np.unique(users[with_sla]).tolist())}
        companies = self.env['res.company'].sudo().browse(np.unique(leads.company_id[with_sla]).tolist())
        company_calendars = {company.id: company.resource_calendar_id.id for company in companies}
        default_calendar = self.env.company.resource_calendar_id.id or 0
        calendars = np.array([
            user_calendars.get(user) or company_calendars.get(company) or default_calendar
            for user, company in zip(users.tolist(), leads.company_id.tolist(), strict=True)], dtype=np.int64)
        start = now.replace(tzinfo=UTC)
        groups, inverse = routing.working_deadline_groups(
            np.full(int(with_sla.sum()), int(start.timestamp())), hours[with_sla], calendars[with_sla])
        # sudo: deadlines are planned in the salespeople's schedules, whoever runs the routing
        Calendar = self.env['resource.calendar'].sudo()
        planned = []
        for calendar_id, _start, seconds in groups.tolist():
            deadline = Calendar.browse(calendar_id).plan_hours(seconds / 3600, start, compute_leaves=True) \
                if calendar_id else None
            planned.append((deadline or start + timedelta(seconds=seconds)).astimezone(UTC).replace(tzinfo=None))
        for position, group in zip(np.flatnonzero(with_sla).tolist(), inverse.tolist(), strict=True):
            deadlines[position] = planned[group]
        return deadlines

    def _subscribe_owners(self, ids, users):
        """The new owners follow their leads, as Odoo subscribes a lead's salesperson."""
        self.env.execute_query(SQL(
            """INSERT INTO mail_followers (res_model, res_id, partner_id)
               SELECT 'crm.lead', v.id, users.partner_id
                 FROM unnest(%s::int[], %s::int[]) AS v(id, user_id) JOIN res_users users ON users.id = v.user_id
               ON CONFLICT DO NOTHING""", ids.tolist(), users.tolist()))

    def _schedule_follow_ups(self, decisions):
        """The follow-up activity of each lead's tier for its new owner, due by the SLA deadline;
        a lead's previous owner loses the follow-up activity routing gave them, if still open.

        :param decisions: :class:`engine.routing.Decisions` of the routed leads
        """
        ids, tiers, users, old_users = decisions.id, decisions.tier_id, decisions.user_id, decisions.from_user_id
        deadlines = decisions.deadline.tolist()
        # sudo: the system's own job reads the tiers, whoever triggers it
        tier_records = self.env['crm.lead.tier'].sudo().browse(np.unique(tiers).tolist())
        activity_types = {tier.id: tier.followup_activity_type_id for tier in tier_records}
        previous = old_users > 0
        if previous.any():
            self.env.execute_query(SQL(
                """DELETE FROM mail_activity activity USING unnest(%s::int[], %s::int[]) AS v(id, user_id)
                    WHERE activity.res_model = 'crm.lead' AND activity.res_id = v.id AND activity.user_id = v.user_id
                      AND activity.automated AND activity.activity_type_id IN (
                          SELECT followup_activity_type_id FROM crm_lead_tier)""",
                ids[previous].tolist(), old_users[previous].tolist()))
        with_type = np.array([bool(activity_types[tier]) for tier in tiers.tolist()], dtype=bool)
        if not with_type.any():
            return
        today = fields.Date.context_today(self)
        # SQL rather than mail.activity.create: its stored document name is computed one
        # query per activity (20 s for 7,000), and each creation notifies and subscribes
        # one by one; the owners follow their leads already (see _subscribe_owners)
        self.env.flush_all()
        self.env.execute_query(SQL(
            """INSERT INTO mail_activity (res_model_id, res_model, res_id, res_name, activity_type_id, summary,
                                          date_deadline, user_id, user_tz, automated, active,
                                          create_uid, create_date, write_uid, write_date)
               SELECT %(model)s, 'crm.lead', v.id, lead.name, v.type_id,
                      COALESCE(NULLIF(type.summary->>%(lang)s, ''), %(summary)s), v.deadline, v.user_id,
                      partner.tz, TRUE, TRUE, %(uid)s, %(now)s, %(uid)s, %(now)s
                 FROM unnest(%(ids)s::int[], %(types)s::int[], %(users)s::int[], %(deadlines)s::date[])
                      AS v(id, type_id, user_id, deadline)
                 JOIN crm_lead lead ON lead.id = v.id
                 JOIN mail_activity_type type ON type.id = v.type_id
                 JOIN res_users users ON users.id = v.user_id
                 JOIN res_partner partner ON partner.id = users.partner_id""",
            model=self.env['ir.model']._get_id('crm.lead'), summary=self.env._('First contact'),
            lang=self.env.lang or 'en_US',
            uid=self.env.uid, now=fields.Datetime.now(), ids=ids[with_type].tolist(),
            types=[activity_types[tier].id for tier in tiers[with_type].tolist()], users=users[with_type].tolist(),
            deadlines=[(deadline.date() if deadline else today)
                       for deadline, keep in zip(deadlines, with_type.tolist(), strict=True) if keep]))
        self.env['mail.activity'].invalidate_model()
        self.invalidate_model(['activity_ids'])

    def _log_routing_history(self, decisions, now):
        """One routing history entry per decision (:class:`engine.routing.Decisions`), dated ``now``."""
        self.env.execute_query(SQL(
            """INSERT INTO crm_lead_routing_history
                   (lead_id, date, kind, from_user_id, to_user_id, rule_id, tier_id, team_id, reason)
               SELECT v.id, %s, v.kind, NULLIF(v.old_user, 0), NULLIF(v.new_user, 0), NULLIF(v.rule_id, 0),
                      NULLIF(v.tier_id, 0), NULLIF(v.team_id, 0), v.reason
                 FROM unnest(%s::int[], %s::varchar[], %s::int[], %s::int[], %s::int[], %s::int[], %s::int[],
                             %s::text[]) AS v(id, kind, old_user, new_user, rule_id, tier_id, team_id, reason)""",
            now, decisions.id.tolist(), decisions.kind.tolist(), decisions.from_user_id.tolist(),
            decisions.user_id.tolist(), decisions.rule_id.tolist(), decisions.tier_id.tolist(),
            decisions.team_id.tolist(), decisions.reason.tolist()))

    def _post_routing_notes(self, notes, now, old_users=None, new_users=None):
        """Post the notes (:class:`engine.Notes`, bodies as plain text) in the leads'
        chatter, in bulk (see :func:`models.bulk.post_notes`), with the salesperson's change as
        Odoo's tracking shows it where ``old_users`` and ``new_users`` (aligned with the notes,
        0 for none) differ."""
        old_users = np.zeros(len(notes), dtype=np.int64) if old_users is None else np.asarray(old_users)
        new_users = old_users if new_users is None else np.asarray(new_users)
        changed = old_users != new_users
        # sudo: the chatter names the salespeople, whoever runs the routing
        users = self.env['res.users'].sudo().browse(set(old_users.tolist() + new_users.tolist()) - {0})
        names = {user.id: user.name for user in users} | {0: ''}
        labels, (old_codes, new_codes) = arrays.encode_labels(
            *([names[user] for user in column[changed].tolist()] for column in (old_users, new_users)))
        field_id = self.env['ir.model.fields']._get('crm.lead', 'user_id').id
        cells = TrackingCells(
            res_id=notes.res_id[changed], field_id=np.full(int(changed.sum()), field_id), old_int=old_users[changed],
            new_int=new_users[changed], old_code=old_codes, new_code=new_codes, labels=tuple(labels))
        bodies = [str(Markup('<p>%s</p>') % escape(text)) for text in notes.body.tolist()]
        bulk.post_notes(self, dataclasses.replace(notes, body=bodies), cells, now)

    @api.model
    def _record_first_contacts(self, now):
        """The first contact of each routed lead not yet contacted: the first activity done or
        message sent on it by an internal user since it was routed; and the deadlines missed."""
        lead_writes.set_first_contacts(self.env, now, self.env['ir.model.data']._xmlid_to_res_id('mail.mt_comment'))
        lead_writes.mark_sla_breached(self.env, now)
        self.invalidate_model(['first_contact_date', 'sla_status'])

    def _escalate(self, lead_ids, config, now):
        """Escalate the claimed breached leads to the step their tier says they reached."""
        rows = self.env.execute_query(SQL(
            """SELECT lead.id, COALESCE(lead.escalation_level, 0), lead.user_id, COALESCE(team.user_id, 0),
                      COALESCE(owner.partner_id, 0), COALESCE(leader.partner_id, 0),
                      extract(epoch FROM %(now)s - lead.sla_deadline) / 3600,
                      tier.escalation_reminder_hours, tier.escalation_leader_hours, tier.escalation_reassign_hours,
                      lead.tier_id, COALESCE(lead.team_id, 0)
                 FROM crm_lead lead
                 JOIN crm_lead_tier tier ON tier.id = lead.tier_id
                 JOIN res_users owner ON owner.id = lead.user_id
                 LEFT JOIN crm_team team ON team.id = lead.team_id
                 LEFT JOIN res_users leader ON leader.id = team.user_id
                WHERE lead.id = ANY(%(ids)s) ORDER BY lead.id""", now=now, ids=lead_ids))
        if not rows:
            return
        leads = routing.EscalationRows.from_matrix(np.array(rows, dtype=np.float64))
        target = leads.target_level()
        # only the highest step reached is taken: a lead about to be reassigned needs no reminder first
        due = target > leads.level
        for step, kind, text, notify, to_users in (
            (1, 'escalate_reminder', self.env._('First-contact deadline missed: reminder sent to the salesperson.'),
             leads.user_partner_id, leads.user_id),
            (2, 'escalate_leader', self.env._('First-contact deadline missed: the team leader is notified.'),
             leads.leader_partner_id, leads.leader_id),
        ):
            selected = due & (target == step)
            if selected.any():
                count = int(selected.sum())
                ids = leads.id[selected]
                self._post_routing_notes(Notes(res_id=ids, body=[text] * count, partner_id=notify[selected]),
                                         now)
                self._log_routing_history(routing.Decisions(
                    id=ids, kind=[kind] * count, from_user_id=leads.user_id[selected], user_id=to_users[selected],
                    team_id=leads.team_id[selected], rule_id=np.zeros(count, dtype=np.int64),
                    tier_id=leads.tier_id[selected], reason=[text] * count, deadline=[None] * count), now)
        lead_writes.set_escalation_levels(self.env, leads.id[due], target[due])
        reassigned = due & (target == 3)
        if reassigned.any():
            self._route_claimed(leads.id[reassigned].tolist(), config, reassign=True)
        self.invalidate_model()
