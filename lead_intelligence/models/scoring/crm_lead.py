import hashlib
import logging
import random
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import psycopg2
from markupsafe import Markup

from odoo import api, fields, models
from odoo.fields import Domain
from odoo.tools import SQL

from ...engine import arrays, behaviour, classification, scoring
from ...engine.stages import PROBABILITY_STEPS, LeadState, ScoreUpdate, TrackingCells
from .. import bulk
from ..classification.dimensions import DIMENSION_FIELDS
from ..writes import crm_lead as lead_writes
from ..writes import crm_lead_score as score_writes

_logger = logging.getLogger(__name__)

# causes of a score change that a user asked for: the history names the user
USER_CAUSES = ('user', 'manual')
# what a full pass keeps of each lead beside its scores for the nightly passes after it (a part of the
# stable key: a pass of another layout is followed by a full match): 2, the stable rules' matches, the
# lead's company, tier and state
STABLE_LAYOUT = 2
# how the time each lead's scores hold (crm_lead_score.settled_until) is found (a part of the settled key)
SETTLED_LAYOUT = 1
SETTLED_NEVER = 2 ** 53  # the integer kept for a lead whose scores hold for ever (POSIX seconds)

DEMO_COUNTRY_CODES = ['US', 'CN', 'DE', 'FR', 'GB', 'JP', 'BE', 'IN', 'BR', 'SG']
DEMO_COMPANIES = [
    ('Northwind Robotics', 'northwind-robotics.com'), ('Blue Harbor Logistics', 'blueharbor.io'),
    ('Shenzhen Bright Electronics', 'szbright.cn'), ('Hangzhou Cloud Textiles', 'hzcloudtex.cn'),
    ('Rhein Maschinenbau', 'rhein-mb.de'), ('Atelier Lumière', 'atelier-lumiere.fr'),
    ('Greenfield Foods', 'greenfieldfoods.co.uk'), ('Sakura Precision', 'sakura-precision.jp'),
    ('Delta Pharma Labs', 'deltapharma.com'), ('Orbit Fintech', 'orbitfintech.sg'),
    ('Lotus Hospitality', 'lotushotels.in'), ('Amazonia Agro', 'amazonia-agro.com.br'),
]
DEMO_FIRST_NAMES = ['Anna', 'Wei', 'Lukas', 'Chloé', 'James', 'Yuki', 'Priya', 'Lucas', 'Mei', 'Omar']
DEMO_LAST_NAMES = ['Smith', 'Zhang', 'Müller', 'Martin', 'Brown', 'Sato', 'Patel', 'Silva', 'Li', 'Haddad']
DEMO_FUNCTIONS = [
    'CEO', 'Owner', 'Operations Director', 'General Manager', 'CTO', 'IT Manager', 'Head of Engineering',
    'Procurement Manager', 'Purchasing Officer', 'Marketing Assistant', 'Sales Representative', 'Student',
    'Intern', '总经理', '技术总监', '采购经理', '市场专员', '实习生', False,
]
DEMO_DECISION_MAKERS = {'CEO', 'Owner', 'Operations Director', 'General Manager', 'CTO', '总经理', '技术总监'}
DEMO_NEEDS = [
    'ERP roll-out', 'warehouse automation', 'CRM licences', 'pricing request', 'support contract',
    'product demo', 'pilot project', 'training', 'integration project', 'renewal',
]


def _settled_sql(column):
    """SQL: the time (POSIX seconds, a float column) until which a lead's scores hold, as a bigint
    (-1 for none kept; never, ``infinity``, as a time no pass reaches)."""
    return SQL('COALESCE(floor(LEAST(%s, %s))::bigint, -1)', column, SETTLED_NEVER)


@dataclass(frozen=True)
class ScoringConfig:
    """What scoring a chunk needs, read once per pass."""

    rules: models.BaseModel
    stable: np.ndarray  # positions in ``rules`` of the stable rules (crm.lead.domain.rule._is_stable)
    stable_key: str  # which rules those are: the key of the layout of the stored stable matches
    reads_classes: bool  # a rule reads a classification dimension: it is classified before the rules are matched
    params: scoring.ScoringParams  # the rules' points, the fit mapping, the blend weights and the tier sets
    tier_company_ids: np.ndarray  # the company of each tier set of ``params`` but the first, the default one
    type_ids: np.ndarray  # event types, by id, archived ones included
    type_points: np.ndarray  # points per unit (0 for archived types)
    type_half_lives: np.ndarray  # days
    engagement_high: float  # decayed points that make a 100 engagement
    models: dict  # company id -> (crm.lead.scoring.model id, engine model or None if unusable) of its active model
    # what the times the leads' scores hold were found with: the points, blend, tiers, event types and models
    settled_key: str = ''


@dataclass(frozen=True)
class PassChunk:
    """A chunk of the full pass: the open leads of ids ``low`` (excluded) to ``high``."""

    low: int
    high: int
    reuse_stable: bool  # match the stable rules on the changed leads only (see _read_scoring_rows)
    trend_since: object = None  # when the previous full pass started, with the same trend window; else None
    # every rule is stable and reused: the leads not flagged are read from crm_lead_score alone
    narrow: bool = False
    limit: int = 0  # at most this many leads, the first ones by id (0: no limit)
    # with ``narrow``: the leads whose scores hold (see _read_unflagged_rows) are not read at all
    settled: bool = False


class CrmLead(models.Model):
    """The lead's scores and tier, and the pass that computes them chunk by chunk."""

    _inherit = 'crm.lead'

    # Scores: rewritten often, so kept beside crm_lead (see crm.lead.score)
    # bypass_search_access: a condition on a score (in a filter, a rule) joins the lead's own score
    # row instead of a subquery over every score; the lead's access rules still apply
    # system_owned: filled in by the addon's passes only; a user's write or create naming it is refused
    score_line_id = fields.Many2one('crm.lead.score', string='Scores', readonly=True, copy=False,
                                    bypass_search_access=True, system_owned=True)
    fit_score = fields.Integer(
        related='score_line_id.fit_score', system_owned=True,
        help="0-100: how well the lead's profile matches the profile-fit rules.")
    score = fields.Integer(
        'Lead Score', related='score_line_id.score', system_owned=True,
        help="0-100: the blend of the score components, weighted as set in the CRM settings.")
    score_date = fields.Datetime(related='score_line_id.score_date', system_owned=True)
    engagement_score = fields.Integer(
        related='score_line_id.engagement_score', system_owned=True,
        help="0-100: the lead's behaviour (visits, downloads, emails, calls...), each event's points "
             "decaying with its type's half-life.")
    # Tier: on crm_lead, the kanban groups by it. No index: four values, none selective.
    tier_id = fields.Many2one(
        'crm.lead.tier', readonly=True, copy=False, system_owned=True,
        tracking=True, ondelete='set null', group_expand='_read_group_tier_ids')
    tier_color = fields.Integer(related='tier_id.color', string='Tier Color')
    tier_description = fields.Text(related='tier_id.description', string='Follow-up Strategy')
    score_explanation = fields.Html(compute='_compute_score_explanation', sanitize=False)
    score_history_ids = fields.One2many('crm.lead.score.history', 'lead_id')

    @api.depends('fit_score', 'score', 'tier_id', 'score_dirty', 'engagement_score', 'model_score', 'rfm_segment',
                 'abc_class', 'cluster_id', 'account_score', 'account_tier_id', 'profile_completeness')
    def _compute_score_explanation(self):
        config = self._get_scoring_config()
        saved_ids = [lead_id for lead_id in self.ids if isinstance(lead_id, int)]
        state, matches, _stable = self._read_scoring_rows(self._query_leads(saved_ids), config)
        matches_by_lead = dict(zip(state.id.tolist(), matches, strict=True))
        contributions = self._read_engagement_contributions(state.id, config)
        model_factors = self._explain_model(state.id, state.company_id, config)
        # sudo: whoever reads a lead may know that a configuration pass has yet to reach it
        config_pass = self.env['crm.lead.score.run'].sudo().search(
            [('state', '=', 'running'), ('cause', '=', 'config')], limit=1)
        # sudo: whoever reads a lead may know that a rule of its company is set aside; the error is the admin's
        set_aside = self.env['crm.lead.fit.rule'].sudo().search([('error_message', '!=', False)])
        for lead in self:
            lead.score_explanation = Markup('').join([
                lead._format_fit_explanation(config, matches_by_lead.get(lead.id, ()), set_aside.filtered(
                    lambda rule, lead=lead: not rule.company_id or rule.company_id == lead.company_id)),
                lead._format_engagement_explanation(config, contributions.get(lead.id, [])),
                lead._format_blend_explanation(config, model_factors.get(lead.id)),
                lead._format_segment_explanation(),
                lead._format_score_notes(pending_config=bool(config_pass) and lead.id > config_pass.last_lead_id),
            ])

    @api.model
    def _read_group_tier_ids(self, tiers, domain):
        # every tier gets its column
        return tiers.search([])  # pylint: disable=no-search-all

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_recompute_score(self):
        """Server action: score the selection now, or queue it when it is large.

        On leads the user may write: scoring writes by SQL.
        """
        self.check_access('write')
        if len(self) <= bulk.chunk_size(self.env):
            changed = self._score_leads(self.ids, 'manual')
            message = self.env._('%(changed)s of %(count)s leads changed score or tier.',
                                 changed=changed, count=len(self))
        else:
            lead_writes.flag_dirty(self.env, self.ids)
            self.invalidate_recordset(['score_dirty'])
            self.env.ref('lead_intelligence.ir_cron_rescore_dirty_leads')._trigger()
            message = self.env._('%s leads are queued: the scoring job rescores them in the background.', len(self))
        return {
            'type': 'ir.actions.client',
            'tag': 'display_notification',
            'params': {
                'title': self.env._('Lead scores'),
                'message': message,
                'type': 'success',
                'next': {'type': 'ir.actions.act_window_close'},
            },
        }

    def action_open_score_history(self):
        self.ensure_one()
        action = self.env['ir.actions.act_window']._for_xml_id('lead_intelligence.crm_lead_score_history_action')
        action.update({'domain': [('lead_id', '=', self.id)], 'context': {}})
        return action

    # ------------------------------------------------------------
    # CRONS
    # ------------------------------------------------------------

    @api.model
    def _cron_rescore_dirty_leads(self):
        """Score the leads flagged dirty, one claimed chunk per transaction.

        ``FOR NO KEY UPDATE SKIP LOCKED`` lets several workers run this at once:
        each claims rows no other transaction holds, and a lead edited while its
        chunk is being scored waits for the commit, then is flagged dirty again.
        """
        self.env.flush_all()
        IrCron = self.env['ir.cron']
        dirty = self.env.execute_query(SQL('SELECT count(*) FROM crm_lead_dirty'))[0][0]
        IrCron._commit_progress(remaining=dirty)
        config = None
        # the leads' own rows are locked, as a write locks them: an edit of a claimed lead waits for
        # the chunk's commit, then flags the lead again
        while lead_ids := bulk.claim_leads(self.env, SQL(
                """SELECT lead.id FROM crm_lead_dirty dirty JOIN crm_lead lead ON lead.id = dirty.lead_id
                    ORDER BY dirty.lead_id LIMIT %s FOR NO KEY UPDATE OF lead SKIP LOCKED""",
                bulk.chunk_size(self.env))):
            config = config or self._get_scoring_config()
            self._score_leads(lead_ids, 'lead', config)
            if not IrCron._commit_progress(len(lead_ids)):
                return
        IrCron._commit_progress(remaining=0)

    @api.model
    def _cron_rescore_all_leads(self):
        """Full pass: score every open lead, resuming an interrupted pass.

        The pass records the last lead it did in the same transaction as each
        chunk, so a killed worker loses at most the chunk it was on. It takes no
        row lock: most leads do not change, and locking them all would write
        every row. A lead edited after the chunk's snapshot keeps the dirty flag
        the edit set, for the 5-minute job; if the pass has to write that lead,
        the write fails to serialize and the chunk is redone on a fresh snapshot.

        A pass that fails is marked failed and retried (see ``_mark_failed``):
        the next run resumes it.
        """
        self.env.flush_all()
        Run = self.env['crm.lead.score.run']
        run = Run.search([('state', 'in', ('running', 'failed'))], order='id', limit=1) \
            or Run.create({'cause': 'nightly'})
        if run.state == 'failed':
            run.write({'state': 'running', 'date_end': False})
        try:
            self._rescore_all_leads(run)
        except Exception as error:  # whatever the failure, the pass must not stay in progress
            _logger.exception('Lead Intelligence: the full scoring pass %s failed; it will be retried', run.id)
            self._fail_score_run(run, str(error))

    @api.model
    def _fail_score_run(self, run, message):
        """Mark ``run`` failed; in a transaction the failure aborted, after going back to its last commit."""
        try:
            with self.env.cr.savepoint():
                run._mark_failed(message)
        except psycopg2.errors.InFailedSqlTransaction:
            self.env.cr.rollback()  # only where the failure left the transaction unusable: never in a test
            run._mark_failed(message)

    @api.model
    def _rescore_all_leads(self, run):
        """The chunks of the full pass ``run``, from where it is; see :meth:`_cron_rescore_all_leads`."""
        IrCron = self.env['ir.cron']
        remaining = self.search_count(self._get_open_leads_domain(run.last_lead_id))
        IrCron._commit_progress(remaining=remaining)
        config = self._get_scoring_config()
        # Chunks are id ranges sized to hold about a chunk of open leads each: an
        # ORDER BY id LIMIT n query would make PostgreSQL evaluate every rule on
        # all the remaining leads before keeping n, and finding each range's end
        # first would read every lead twice. Leads created meanwhile are flagged
        # dirty, for the 5-minute job.
        max_id = self.env.execute_query(SQL('SELECT max(id) FROM crm_lead'))[0][0] or 0
        target = bulk.chunk_size(self.env)
        # at night, the stable rules are matched on the leads changed since only (see _read_scoring_rows)
        reuse_stable = run.cause == 'nightly' and self._stable_matches_hold(config)
        # every rule stable: nothing of an unflagged lead's own row can have changed, its row of scores is enough
        narrow = reuse_stable and len(config.stable) == len(config.rules)
        trend_window = self.env['res.config.settings']._get_lead_intelligence_settings()['trend_window_days']
        previous = self.env['crm.lead.score.run'].search([('state', '=', 'done')], order='id desc', limit=1)
        trend_since = previous.date_start if previous.trend_window_days == trend_window else None
        # and with the scores of the last pass found alike, and classes that only the flagged leads and the
        # scores move: the leads whose scores hold are not read at all, the chunks are sized by the leads read
        settled = narrow and trend_since is not None and previous.settled_key == config.settled_key \
            and self._classify_stable_stage() and self._classify_stable_stage(after_score=True)
        span = scoring.first_id_span(target, max_id - run.last_lead_id, remaining)
        while run.last_lead_id < max_id:
            upper = min(run.last_lead_id + span, max_id)
            # the limit only bites where the density jumps: it caps a chunk at twice the target
            query = self._search(self._get_open_leads_domain(run.last_lead_id) & Domain('id', '<=', upper),
                                 order='id', limit=2 * target)
            done, changed = bulk.retry_on_conflict(
                self.env, lambda query=query, chunk=PassChunk(run.last_lead_id, upper, reuse_stable, trend_since,
                                                             narrow, 2 * target, settled):
                self._score_query(query, run.cause, config, chunk))
            if len(done) == 2 * target:
                upper = done[-1]
            run.write({
                'last_lead_id': upper,
                'leads_done': run.leads_done + len(done),
                'leads_changed': run.leads_changed + changed,
            })
            span = scoring.next_id_span(span, target, len(done))
            if not IrCron._commit_progress(len(done)):
                return
        # a pass reading every rule's matches from the leads' rows does not keep the times their scores hold
        run.write({'state': 'done', 'date_end': fields.Datetime.now(), 'stable_key': config.stable_key,
                   'trend_window_days': trend_window, 'settled_key': config.settled_key if narrow else False})
        IrCron._commit_progress(remaining=0)

    @api.model
    def _stable_matches_hold(self, config):
        """Whether every open lead holds its matches of the stable rules of ``config``: the last
        full pass ended with these stable rules (a pass matches every rule on every open lead,
        and every scoring since then, of edited leads, kept their matches)."""
        if not len(config.stable):
            return False
        last = self.env['crm.lead.score.run'].search([('state', '=', 'done')], order='id desc', limit=1)
        return last.stable_key == config.stable_key

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    @api.model
    def _trigger_full_rescore(self):
        """The scoring configuration changed: start a new full pass over the open leads.

        A pass already under way scored part of the leads with the old
        configuration, so it is superseded rather than resumed.
        """
        # sudo: editing a rule or a tier schedules the system's own pass, whoever edits it
        Run = self.env['crm.lead.score.run'].sudo()
        running = Run.search([('state', 'in', ('running', 'failed'))])
        if not running.filtered(lambda run: not run.last_lead_id and run.cause == 'config' and run.state == 'running'):
            running.write({'state': 'cancel', 'date_end': fields.Datetime.now()})
            Run.create({'cause': 'config'})
        # triggered even for a pass already waiting: the trigger that created it may have been spent on a
        # run that failed since
        cron = self.env.ref('lead_intelligence.ir_cron_rescore_all_leads', raise_if_not_found=False)
        if cron:  # absent while the module's own data is being loaded
            cron._trigger()

    def _score_now(self):
        self._score_leads(self.ids, 'user')

    @api.model
    def _get_open_leads_domain(self, after_id=0):
        return Domain('won_status', '=', 'pending') & Domain('id', '>', after_id)

    @api.model
    def _get_scoring_config(self):
        # sudo: scoring runs for any user who edits a lead, over every active rule and tier
        rules = self.env['crm.lead.fit.rule'].sudo().search([('error_message', '=', False)])._filter_runnable()
        stable = [index for index, rule in enumerate(rules) if rule._is_stable()]
        default_tiers, company_tiers = self.env['crm.lead.tier'].sudo()._get_tier_sets()
        tier_company_ids = list(company_tiers)
        settings = self.env['res.config.settings']._get_lead_intelligence_settings()
        # sudo: as above; archived types keep their stored engagement but are worth no points
        all_types = self.env['crm.lead.event.type'].sudo().with_context(active_test=False)
        types = all_types.search([], order='id')  # pylint: disable=no-search-all
        params = scoring.ScoringParams(
            points=np.array(rules.mapped('points'), dtype=np.float64),
            tier_sets=(default_tiers, *(company_tiers[company_id] for company_id in tier_company_ids)),
            mapping=settings['fit_mapping'],
            low=settings['fit_points_low'],
            high=settings['fit_points_high'],
            weights={name: settings[f'weight_{name}'] for name in scoring.BLEND_COMPONENTS},
        )
        type_points = [event_type.points if event_type.active else 0.0 for event_type in types]
        # predicted even at a zero weight: the probability is shown on the lead all the same
        active_models = self._get_active_scoring_models()
        return ScoringConfig(
            rules=rules,
            stable=np.array(stable, dtype=np.int64),
            stable_key=hashlib.sha256(repr([STABLE_LAYOUT] + [
                (rules[index].id, rules[index].domain, rules[index].company_id.id) for index in stable
            ]).encode()).hexdigest(),
            reads_classes=any(rule._reads_fields(DIMENSION_FIELDS.values()) for rule in rules),
            params=params,
            tier_company_ids=np.array(tier_company_ids, dtype=np.int64),
            type_ids=np.array(types.ids, dtype=np.int64),
            type_points=np.array(type_points, dtype=np.float64),
            type_half_lives=np.array(types.mapped('half_life'), dtype=np.float64),
            engagement_high=float(settings['engagement_points_high']),
            models=active_models,
            settled_key=hashlib.sha256(repr([
                SETTLED_LAYOUT, rules.ids, params.points.tolist(), params.mapping, params.low, params.high,
                sorted(params.weights.items()), float(settings['engagement_points_high']), types.ids, type_points,
                types.mapped('half_life'), [(list(thresholds), list(tier_ids))
                                            for thresholds, tier_ids in params.tier_sets],
                tier_company_ids, sorted((company_id, record_id) for company_id, (record_id, _engine)
                                         in active_models.items()),
            ]).encode()).hexdigest(),
        )

    def _read_scoring_rows(self, query, config, chunk=None):
        """Read the stored scores of the leads of ``query`` and match the rules on them.

        Every rule is matched on every lead, but with ``chunk.reuse_stable`` (the nightly pass, while
        every open lead holds its stable matches: see :meth:`_stable_matches_hold`): then the
        stable rules (``config.stable``) are matched only on the leads changed since they were
        last matched (flagged dirty, or without stored matches), and the others' matches of
        them are read from ``crm_lead_score.stable_matches``. With ``chunk.narrow`` (every rule is
        stable), the leads not flagged are read from ``crm_lead_score`` alone, their company, tier
        and state included, without their wide row of ``crm_lead`` (:meth:`_read_unflagged_rows`).

        :param query: a :class:`Query` on ``crm_lead``, as ``_search`` returns
        :param chunk: the :class:`PassChunk` of a full pass, whose leads are those of ``query``: the
            scores are read from its id range of ``crm_lead_score`` (an index range, where a join on
            the score's id hashed the whole table for every chunk)
        :return: (state, matches, stable): the :class:`LeadState` of the leads, in id order, their
            matches (n, n_rules) bool (a rule that fails in the database is set aside and matches
            none) and ``(words, changed, open, settled)``: the stable matches to keep, as bit words
            (n, k), (n,) bool where they, or the lead's company, tier or state kept with them, differ
            from the stored ones, (n,) int, 1 for an open lead, and (n,) int, the time (POSIX
            seconds) until which the stored scores hold, -1 for none kept
        """
        if chunk and chunk.narrow:
            parts = [self._read_lead_rows(self._query_flagged(chunk), config, chunk),
                     self._read_unflagged_rows(config, chunk)]
            order = np.argsort(np.concatenate([part[0][:, 0] for part in parts]), kind='stable')
            if chunk.limit:
                order = order[:chunk.limit]
            data, matches, words, changed, open_flags, settled = (
                np.concatenate(column)[order] for column in zip(*parts, strict=True))
        else:
            data, matches, words, changed, open_flags, settled = self._read_lead_rows(query, config, chunk)
        return LeadState.from_matrix(data), matches, (words, changed, open_flags, settled)

    def _query_flagged(self, chunk):
        """The open leads of ``chunk`` flagged dirty, at most ``chunk.limit``: a :class:`Query`."""
        return self._search(self._get_open_leads_domain(chunk.low) & Domain('id', '<=', chunk.high)
                            & self._get_flagged_domain(chunk.low, chunk.high), order='id', limit=chunk.limit or None)

    def _read_lead_rows(self, query, config, chunk=None):
        """The leads of ``query`` read from ``crm_lead``, with their stored scores, in one query.

        :return: (data, matches, words, changed, open): the columns of :class:`LeadState` (n, m)
            int64, and as in :meth:`_read_scoring_rows`
        """
        if chunk:
            # an alias of its own: a rule reading a score joins the table on Odoo's alias
            line = 'crm_lead__chunk_score'
            query.add_join('LEFT JOIN', line, 'crm_lead_score', SQL(
                '%s = crm_lead.score_line_id AND %s > %s AND %s <= %s', SQL.identifier(line, 'id'),
                SQL.identifier(line, 'lead_id'), chunk.low, SQL.identifier(line, 'lead_id'), chunk.high))
        else:
            line = query.left_join('crm_lead', 'score_line_id', 'crm_lead_score', 'id', 'score_line_id')
        stored = SQL.identifier(line, 'stable_matches')
        dirty = lead_writes.dirty_sql(query)
        columns = {
            'id': SQL('crm_lead.id'),
            'company_id': SQL('COALESCE(crm_lead.company_id, 0)'),
            'fit_score': SQL('COALESCE(%s, -1)', SQL.identifier(line, 'fit_score')),
            'score': SQL('COALESCE(%s, -1)', SQL.identifier(line, 'score')),
            'tier_id': SQL('COALESCE(crm_lead.tier_id, 0)'),
            'score_dirty': dirty,
            'score_line_id': SQL('COALESCE(crm_lead.score_line_id, 0)'),
            'engagement_score': SQL('COALESCE(%s, -1)', SQL.identifier(line, 'engagement_score')),
            'model_score': SQL('COALESCE(%s, -1)', SQL.identifier(line, 'model_score')),
            'model_probability': SQL('COALESCE(round(%s * %s)::int, -1)',
                                     SQL.identifier(line, 'model_probability'), PROBABILITY_STEPS),
        }
        n_words = scoring.word_count(len(config.stable))
        guard = None
        if chunk and chunk.reuse_stable:
            guard = SQL('(%s OR %s IS NULL)', dirty, stored)
        extra = [
            SQL('(%s)::int', guard) if guard else SQL('1'),  # matched on every rule
            SQL('(%s IS NOT NULL)::int', stored),
            # the lead's state, and what is kept of it beside its scores (-1: nothing)
            SQL("COALESCE(crm_lead.active AND crm_lead.won_status = 'pending', FALSE)::int"),
            SQL('COALESCE(%s, -1)', SQL.identifier(line, 'lead_company_id')),
            SQL('COALESCE(%s, -1)', SQL.identifier(line, 'lead_tier_id')),
            SQL('COALESCE(%s::int, -1)', SQL.identifier(line, 'lead_open')),
            _settled_sql(SQL.identifier(line, 'settled_until')),
            *(SQL('COALESCE(%s[%s], 0)', stored, index + 1) for index in range(n_words)),
        ]
        names = LeadState.column_names()
        data, matches = config.rules._read_matches(
            query, [columns[name] for name in names] + extra, guard, config.stable.tolist() if guard else ())
        fresh, has_stored, open_flags, kept_company, kept_tier, kept_open, settled = (
            data[:, len(names) + offset] for offset in range(7))
        stored_words = data[:, len(names) + 7:]
        kept = ~fresh.astype(bool)
        if kept.any():
            matches[np.ix_(kept, config.stable)] = scoring.unpack_matches(stored_words[kept], len(config.stable))
        words = scoring.pack_matches(matches[:, config.stable])
        state = data[:, :len(names)]
        changed = ~has_stored.astype(bool) | (words != stored_words).any(axis=1) \
            | (kept_company != state[:, names.index('company_id')]) | (kept_tier != state[:, names.index('tier_id')]) \
            | (kept_open != open_flags)
        return state, matches, words, changed, open_flags, settled

    def _read_unflagged_rows(self, config, chunk):
        """The open leads of ``chunk`` not flagged dirty, read from ``crm_lead_score`` alone: their
        scores, stable matches, and the company, tier and state kept beside them. Only while every
        rule is stable (``chunk.narrow``): nothing these leads' rules read has changed since they
        were last matched, and every open lead has its row (the last full pass matched it, and a
        lead created or reopened since is flagged).

        With ``chunk.settled``, only those whose scores may have moved since they were last found:

        * the time until which they hold (``settled_until``, see ``engine.scoring.hold_seconds``:
          their engagement's decay cannot move their rounded engagement or score before) has come,
          or is not known;
        * their company has an active model: it reads the lead's classes, which the score-reading
          dimensions move without flagging the lead;
        * their score trend's baseline moved: a row of their score history passed the start of the
          trend window since the last pass (as ``_score_trends`` finds them).

        Nothing else of such a lead can move: its rules' inputs (it is not flagged), its engagement (an
        event flags the lead), the configuration (the settled key of the last pass, see
        ``_rescore_all_leads``).

        :return: as :meth:`_read_lead_rows`
        """
        columns = {
            'id': SQL('score.lead_id'),
            'company_id': SQL('COALESCE(score.lead_company_id, 0)'),
            'fit_score': SQL('COALESCE(score.fit_score, -1)'),
            'score': SQL('COALESCE(score.score, -1)'),
            # a tier deleted since: none, as on the lead (its foreign key set it empty)
            'tier_id': SQL('COALESCE(tier.id, 0)'),
            'score_dirty': SQL('FALSE'),
            'score_line_id': SQL('score.id'),
            'engagement_score': SQL('COALESCE(score.engagement_score, -1)'),
            'model_score': SQL('COALESCE(score.model_score, -1)'),
            'model_probability': SQL('COALESCE(round(score.model_probability * %s)::int, -1)', PROBABILITY_STEPS),
        }
        names = LeadState.column_names()
        n_words = scoring.word_count(len(config.stable))
        moving = SQL('TRUE')
        if chunk.settled:
            window = self.env['res.config.settings']._get_lead_intelligence_settings()['trend_window_days']
            moving = SQL(
                """(score.settled_until IS NULL OR score.settled_until <= %(now)s
                     OR COALESCE(score.lead_company_id, 0) = ANY(%(modelled)s::int[])
                     OR score.lead_id IN (SELECT lead_id FROM crm_lead_score_history
                                           WHERE date > %(since)s AND date <= %(start)s
                                             AND lead_id > %(low)s AND lead_id <= %(high)s))""",
                now=self._engagement_now(), modelled=arrays.int_array_literal(list(config.models)),
                since=chunk.trend_since - timedelta(days=window), start=self.env.cr.now() - timedelta(days=window),
                low=chunk.low, high=chunk.high)
        rows = self.env.execute_query(SQL(
            """SELECT %(columns)s
                 FROM crm_lead_score score
                 LEFT JOIN crm_lead_tier tier ON tier.id = score.lead_tier_id
                WHERE score.lead_id > %(low)s AND score.lead_id <= %(high)s AND score.lead_open AND %(moving)s
                  AND NOT EXISTS (SELECT 1 FROM crm_lead_dirty dirty WHERE dirty.lead_id = score.lead_id)
                ORDER BY score.lead_id%(limit)s""",
            columns=SQL(', ').join([*(columns[name] for name in names), _settled_sql(SQL('score.settled_until')),
                                    *(SQL('COALESCE(score.stable_matches[%s], 0)', index + 1)
                                      for index in range(n_words))]),
            low=chunk.low, high=chunk.high, moving=moving,
            limit=SQL(' LIMIT %s', chunk.limit) if chunk.limit else SQL()))
        data = np.array(rows, dtype=np.int64).reshape(len(rows), len(names) + 1 + n_words)
        words = data[:, len(names) + 1:]
        matches = np.zeros((len(rows), len(config.rules)), dtype=bool)
        matches[:, config.stable] = scoring.unpack_matches(words, len(config.stable))
        return (data[:, :len(names)], matches, words, np.zeros(len(rows), dtype=bool),
                np.ones(len(rows), dtype=np.int64), data[:, len(names)])

    @api.model
    def _query_leads(self, lead_ids):
        """Query on the given leads, archived ones included, in id order.

        Bounded by the smallest and largest of the ids as well: PostgreSQL does not see that a list
        of ids lies in a range, and for a chunk's leads it walked the whole of ``crm_lead`` and
        hashed every row of scores (1M leads: 260 ms per 20,000-lead chunk of the pass's second
        classification, against 85 ms through the primary key on the range). The ids go as one
        array literal, not as a list Odoo adapts id by id (0.4 s of Python for 340,000 leads).
        """
        ids = np.fromiter(lead_ids, dtype=np.int64)
        if not len(ids):
            return self._search(Domain.FALSE, order='id', active_test=False)
        domain = Domain('id', 'in', SQL('(SELECT unnest(%s::int[]))', arrays.int_array_literal(ids))) \
            & Domain('id', '>=', int(ids.min())) & Domain('id', '<=', int(ids.max()))
        return self._search(domain, order='id', active_test=False)

    @api.model
    def _score_leads(self, lead_ids, cause, config=None):
        """Score the leads ``lead_ids``; see :meth:`_score_query`.

        :return: the number of leads whose score or tier changed
        """
        if not lead_ids:
            return 0
        return self._score_query(self._query_leads(lead_ids), cause, config)[1]

    @api.model
    def _score_query(self, query, cause, config=None, chunk=None):
        """Score the leads of ``query`` and write back the rows that changed: the pass.

        Its stages, in order, each one or a few set-based queries for the whole
        chunk whatever its size:

        1. classify (:meth:`_classify_query`) the dimensions whose rules read no score:
           the fit rules may read them (at night, when every such rule is stable
           (:meth:`_classify_stable_stage`), the leads flagged since only: after step 2, which
           reads the chunk, when no fit rule reads a class, before it otherwise);
        2. read the stored scores with every fit rule matched (:meth:`_read_scoring_rows`; with
           ``chunk.reuse_stable``, the stable ones on the leads changed since their last match only);
        3. engagement, decayed to now (:meth:`_read_engagement`);
        4. predict, by each company's active model (:meth:`_predict_model`);
        5. score, in the engine (:meth:`_compute_scores`);
        6. the score trends (:meth:`_score_trends`), then write only what changed, the trends with
           the scores (:meth:`_write_scores`);
        7. classify the dimensions whose rules read a score (lifecycle, intent...), on the
           scores just written: they follow the score of this pass, not of the one before
           (a fit rule reading such a dimension sees its value of the pass before; at night,
           the leads flagged or rescored only, when the rules are stable but for the scores);
        8. hooks: :meth:`_on_tier_moves` for the leads whose tier moved;
           :meth:`_on_pass_changes` after each write of scores, tiers and classifications.

        :param chunk: the :class:`PassChunk` ``query`` selects, in a full pass; None elsewhere
        :return: (ids of the leads scored, number of leads whose score or tier changed)
        """
        self.env.flush_all()
        # the rule queries are wide CASE lists: PostgreSQL's JIT compiles them for more time,
        # every chunk, than it saves (measured: 3.0 s against 0.8 s for 50 rules on 34k leads)
        self.env.cr.execute('SET LOCAL jit = off')
        config = config or self._get_scoring_config()
        nightly = chunk is not None and cause == 'nightly'
        if nightly and not config.reads_classes and self._classify_stable_stage():
            # no lead but the flagged ones can change class, and no fit rule reads a class: the
            # chunk is read once, by the fit rules, and the flagged leads classified after
            state, matches, stable = self._read_scoring_rows(query, config, chunk)
            self._classify_query(self._query_leads(state.id[state.score_dirty].tolist()), cause)
        elif nightly and self._classify_stable_stage():
            # no lead but the flagged ones can change class, and a fit rule reads a class (the shipped
            # job-level rules do): the flagged leads of the chunk are classified first, the fit rules
            # read their classes of this pass
            # with a narrow read, the very leads it reads flagged (the chunk's query may stop short of them)
            flagged = self._query_flagged(chunk) if chunk.narrow else self._search(
                Domain('id', 'in', query) & self._get_flagged_domain(chunk.low, chunk.high),
                order='id', active_test=False)
            self._classify_query(flagged, cause)
            state, matches, stable = self._read_scoring_rows(query, config, chunk)
        else:
            self._classify_query(query, cause)
            state, matches, stable = self._read_scoring_rows(query, config, chunk)
        if not len(state):
            return [], 0
        ids, company_ids = state.id, state.company_id
        now = self._engagement_now()
        totals, swing, half_life = self._read_engagement_state(ids, config, now)
        engagement = behaviour.engagement_score(totals, config.engagement_high)
        probability = self._predict_model(ids, company_ids, scoring.round_score(engagement), config)
        result = self._compute_scores(state, matches, engagement, probability, config, result=True)
        update = ScoreUpdate.from_result(result, probability)
        changes = update.changes_from(state.stored_scores())
        # until when they hold, kept where it may have moved: every lead read but in a pass that keeps none
        # (its rules not all stable) or that reads only the leads flagged or whose time has come
        hold = scoring.hold_seconds(config.params, result, totals, swing, half_life, config.engagement_high,
                                    ~np.isnan(probability))
        settled_until = np.floor(np.minimum(now + hold, SETTLED_NEVER)).astype(np.int64)
        kept_until = stable[3]
        if chunk is None or (chunk.narrow and not chunk.settled):
            refresh = np.ones(len(ids), dtype=bool)
        elif chunk.narrow:
            refresh = state.score_dirty | (kept_until < 0) | (kept_until <= now)
        else:
            refresh = np.zeros(len(ids), dtype=bool)
        # the history follows fit score, score and tier; at night, when decay moves many
        # scores by a point or two, it records only what matters: tier moves and fit changes
        logged = changes.changed if cause != 'nightly' else (state.fit_score != update.fit_score) | changes.moved
        # the trends that can have moved: of the leads rescored, on new behaviour and at night
        restrict = cause == 'event' or (chunk is not None and chunk.trend_since is not None)
        trends = self._score_trends(ids, update.score, state.score, logged,
                                    changes.changed if restrict else None, chunk)
        self._write_scores(state, update, cause, logged, stable, trends, (settled_until, refresh))
        self._set_model_win_probabilities(ids)
        self._on_pass_changes(update.field_changes(ids, state.stored_scores()))
        after = query
        if nightly and self._classify_stable_stage(after_score=True):
            # what the rules read but the scores changes only with a write: the leads flagged, new, or
            # on which a condition of the rules on a score flips (rescored, where a rule reads the scores
            # other than by their columns)
            conditions = self._after_score_conditions()
            flipped = changes.rescored | changes.moved if conditions is None \
                else classification.conditions_flipped(state.stored_scores(), update, conditions)
            touched = flipped | state.score_dirty | (state.score_line_id == 0)
            after = self._query_leads(ids[touched].tolist())
        self._classify_query(after, cause, after_score=True)
        moved = changes.moved
        if moved.any():
            self._on_tier_moves(ids[moved], state.tier_id[moved], update.tier_id[moved])
        self.env['crm.lead.score'].invalidate_model()
        self.invalidate_model(['score_line_id', 'fit_score', 'score', 'score_date', 'tier_id', 'score_dirty',
                               'engagement_score', 'model_probability', 'model_score', 'score_trend',
                               'score_explanation', 'score_history_ids'])
        return ids.tolist(), int(changes.changed.sum())

    @api.model
    def _compute_scores(self, state, matches, engagement, probability, config, result=False):
        """The engine's scores of a chunk, each lead cut by its company's tiers (or the default ones).

        :param state: the :class:`LeadState` read by :meth:`_read_scoring_rows`; ``matches``: (n, n_rules) bool;
            ``engagement``: (n,) 0-100; ``probability``: (n,) 0-1, NaN for a lead without a model
        :param result: return the engine's :class:`engine.scoring.ScoreResult` itself
        :rtype: ScoreUpdate
        """
        # a lead of a company with its own tiers is cut by them: the set after the default one
        group_index = np.zeros(len(state), dtype=np.int64)
        for index, company_id in enumerate(config.tier_company_ids.tolist(), start=1):
            group_index[state.company_id == company_id] = index
        scores = scoring.score_leads(config.params, matches, group_index, engagement, model=100.0 * probability)
        return scores if result else ScoreUpdate.from_result(scores, probability)

    @api.model
    def _on_tier_moves(self, ids, old_tier_ids, new_tier_ids):
        """Hook of the pass, after its writes: the leads ``ids`` moved from ``old_tier_ids``
        to ``new_tier_ids`` (0 for none), all (m,) int arrays.

        Called once per chunk, in the pass's transaction, with the scores, tiers,
        history and chatter already written. Nothing here; routing queues the
        leads whose new tier it handles.
        """

    def _write_scores(self, state, update, cause, logged, stable, trends, settled=None):
        """Write what changed: scores beside the lead, the tier and the dirty flag
        on it, the history of every change and the tier moves in the chatter.

        A lead is rewritten only when its tier moves, it was flagged dirty or it
        gets its first scores; score changes alone touch only ``crm_lead_score``.

        :param state: the :class:`LeadState` read by :meth:`_read_scoring_rows`
        :param update: the :class:`ScoreUpdate` of the same leads, from :meth:`_compute_scores`
        :param logged: (n,) bool, the changes to record in the history
        :param stable: (words, changed, open) of the stable rules' matches, from :meth:`_read_scoring_rows`:
            kept with the scores and the lead's company, tier and state, and alone where one of them
            changed but no score did
        :param trends: ``(codes, baselines, start)`` of :meth:`_score_trends` (a code -1: the trend
            unchanged), written with the scores of the leads rescored, alone on the others
        :param settled: ``(until, refresh)``: (n,) int, the time (POSIX seconds) until which the
            leads' new scores hold, written with the scores of the leads rescored, and alone on the
            others where ``refresh`` (n,) bool; None: none kept
        """
        now = self.env.cr.now()
        old = state.stored_scores()
        changes = update.changes_from(old)
        line_ids = state.score_line_id.copy()
        missing = line_ids == 0
        rescored = changes.rescored | missing
        words, matches_changed, open_flags, _kept_until = stable
        codes, baselines, trend_start = trends
        until, refresh = settled if settled is not None else (np.full(len(state), -1), np.zeros(len(state), bool))
        if rescored.any():
            line_by_lead = score_writes.upsert_scores(
                self.env, state.id[rescored], update.take(rescored), words[rescored],
                (state.company_id[rescored], open_flags[rescored]), now,
                (codes[rescored], baselines[rescored], trend_start), until[rescored])
            line_ids[missing] = [line_by_lead[lead_id] for lead_id in state.id[missing].tolist()]
        refresh = refresh & ~rescored
        if refresh.any():
            score_writes.set_settled_until(self.env, state.id[refresh], until[refresh])
        trended = (codes >= 0) & ~rescored
        if trended.any():
            score_writes.set_score_trends(self.env, state.id[trended], codes[trended], baselines[trended], trend_start)
        kept = (matches_changed | changes.moved) & ~rescored
        if kept.any():
            score_writes.set_stable_matches(self.env, state.id[kept], words[kept],
                                            (state.company_id[kept], open_flags[kept]), update.tier_id[kept])
        on_lead = state.needs_lead_write(changes)
        if on_lead.any():
            lead_writes.set_scored(self.env, state.id[on_lead], update.tier_id[on_lead], line_ids[on_lead])
        lead_writes.clear_dirty(self.env, state.id[state.score_dirty])
        if logged.any():
            self._log_score_history(state.id[logged], old.take(logged), update.take(logged), cause, now)
        if changes.moved.any():
            moved = changes.moved
            self._log_tier_moves(state.id[moved], state.tier_id[moved], update.tier_id[moved], now)

    def _log_score_history(self, ids, old, new, cause, now):
        """One history row per lead whose fit score, score or tier changed.

        :param ids: (n,) lead ids
        :param old: the :class:`ScoreUpdate` of the stored scores of the leads (-1 / 0 for none)
        :param new: the :class:`ScoreUpdate` of their new scores
        """
        self.env.execute_query(SQL(
            """INSERT INTO crm_lead_score_history
                   (lead_id, date, user_id, cause, old_fit_score, new_fit_score,
                    old_score, new_score, score_delta, old_tier_id, new_tier_id, tier_changed,
                    old_engagement_score, new_engagement_score)
               SELECT v.id, %(now)s, %(uid)s, %(cause)s,
                      NULLIF(v.old_fit, -1), v.new_fit, NULLIF(v.old_score, -1), v.new_score,
                      v.new_score - COALESCE(NULLIF(v.old_score, -1), 0),
                      NULLIF(v.old_tier, 0), NULLIF(v.new_tier, 0), v.old_tier <> v.new_tier,
                      NULLIF(v.old_engagement, -1), v.new_engagement
                 FROM unnest(%(ids)s::int[], %(old_fit)s::int[], %(new_fit)s::int[], %(old_score)s::int[],
                             %(new_score)s::int[], %(old_tier)s::int[], %(new_tier)s::int[],
                             %(old_engagement)s::int[], %(new_engagement)s::int[])
                      AS v(id, old_fit, new_fit, old_score, new_score, old_tier, new_tier,
                           old_engagement, new_engagement)""",
            now=now, uid=self.env.uid if cause in USER_CAUSES else None, cause=cause,
            ids=arrays.int_array_literal(ids), old_fit=arrays.int_array_literal(old.fit_score),
            new_fit=arrays.int_array_literal(new.fit_score), old_score=arrays.int_array_literal(old.score),
            new_score=arrays.int_array_literal(new.score), old_tier=arrays.int_array_literal(old.tier_id),
            new_tier=arrays.int_array_literal(new.tier_id),
            old_engagement=arrays.int_array_literal(old.engagement_score),
            new_engagement=arrays.int_array_literal(new.engagement_score),
        ))

    def _log_tier_moves(self, ids, old_tier_ids, new_tier_ids, now):
        """Post the tier changes in the chatter as Odoo's own field tracking does."""
        field = self.env['ir.model.fields']._get('crm.lead', 'tier_id')
        # sudo: the system's own job reads the tiers, whoever triggers it
        tiers = self.env['crm.lead.tier'].sudo().with_context(active_test=False).browse(
            (set(old_tier_ids.tolist()) | set(new_tier_ids.tolist())) - {0})
        names = {tier.id: tier.display_name for tier in tiers} | {0: ''}
        labels, (old_codes, new_codes) = arrays.encode_labels(
            [names[tier_id] for tier_id in old_tier_ids.tolist()],
            [names[tier_id] for tier_id in new_tier_ids.tolist()])
        bulk.log_tracking(self, TrackingCells(
            res_id=ids, field_id=np.full(len(ids), field.id), old_int=old_tier_ids, new_int=new_tier_ids,
            old_code=old_codes, new_code=new_codes, labels=labels), now)

    def _format_fit_explanation(self, config, matches, set_aside):
        """The 'why' of the fit score: each matched rule with its points, the rules set aside,
        and how the points map to the fit score; the first part of the score's explanation.

        :param matches: (n_rules,) bool, the rules of ``config.rules`` the lead matches
        :param set_aside: the fit rules of the lead that are set aside: they count for no lead
        """
        self.ensure_one()
        rows = [
            Markup('<tr><td>%s</td><td class="text-end">%+d</td></tr>') % (rule.name, rule.points)
            for rule, matched in zip(config.rules, matches, strict=False) if matched
        ]
        total = int(sum(rule.points for rule, matched in zip(config.rules, matches, strict=False) if matched))
        parts = [Markup('<table class="table table-sm o_lead_score_explanation mb-1"><tbody>')]
        parts += rows or [Markup('<tr><td colspan="2">%s</td></tr>') % self.env._('No profile-fit rule matches.')]
        parts += [
            Markup('<tr class="text-danger"><td colspan="2">%s</td></tr>') % self.env._(
                'Rule "%(rule)s" is set aside and counts for no lead until its condition is fixed: %(error)s',
                rule=rule.name, error=rule.error_message)
            for rule in set_aside or ()
        ]
        mapping_labels = dict(self.env['res.config.settings']._fields[
            'lead_intelligence_fit_mapping']._description_selection(self.env))
        params = config.params
        parts.append(Markup('<tr class="fw-bold"><td>%s</td><td class="text-end">%+d</td></tr>') % (
            self.env._('Fit points'), total))
        parts.append(Markup('</tbody></table><p class="mb-0">%s</p>') % self.env._(
            'Fit points map to a fit score of %(fit)s / 100 (%(mapping)s, %(low)s to %(high)s points); '
            'score %(score)s, tier %(tier)s.',
            fit=self.fit_score, mapping=mapping_labels.get(params.mapping, params.mapping),
            low=params.low, high=params.high,
            score=self.score, tier=self.tier_id.display_name or '-'))
        return Markup('').join(parts)

    def _format_engagement_explanation(self, config, contributions):
        """The 'why' of the engagement score: each event type with its decayed points.

        :param contributions: (event type, decayed points) pairs of the lead
        """
        self.ensure_one()
        parts = [Markup('<table class="table table-sm o_lead_engagement_explanation mt-2 mb-1"><tbody>')]
        shown = [(event_type, points) for event_type, points in contributions if round(points, 1)]
        parts += [
            Markup('<tr><td>%s</td><td class="text-end">%+.1f</td></tr>') % (event_type.name, points)
            for event_type, points in sorted(shown, key=lambda pair: -abs(pair[1]))
        ] or [Markup('<tr><td colspan="2">%s</td></tr>') % self.env._('No counted behaviour.')]
        parts.append(Markup('<tr class="fw-bold"><td>%s</td><td class="text-end">%+.1f</td></tr>') % (
            self.env._('Engagement points (decayed to today)'), sum(points for _type, points in contributions)))
        parts.append(Markup('</tbody></table><p class="mb-0">%s</p>') % self.env._(
            'Engagement points map to an engagement score of %(engagement)s / 100 (%(high)s points make 100).',
            engagement=self.engagement_score, high=round(config.engagement_high)))
        return Markup('').join(parts)

    def _format_blend_explanation(self, config, model_factors):
        """The model's main factors, and how the components make the score, with the
        shares of the blend (see ``engine.scoring.blend_shares``).

        :param model_factors: the model's explanation of the lead (see
            :meth:`_explain_model`), None when its company has no active model
        """
        self.ensure_one()
        parts = []
        if model_factors:
            parts.append(self._format_model_explanation(model_factors))
        # a model that cannot be used has no part in the score: its explanation says why
        model_scored = bool(model_factors) and not model_factors.get('unusable')
        percents = {name: round(100 * share)
                    for name, share in scoring.blend_shares(config.params.weights, model_scored).items()}
        if model_scored:
            parts.append(Markup('<p class="mb-0 fw-bold">%s</p>') % self.env._(
                'Score = %(fit_weight)s%% fit %(fit)s + %(engagement_weight)s%% engagement %(engagement)s '
                '+ %(model_weight)s%% model %(model)s = %(score)s.',
                fit=self.fit_score, engagement=self.engagement_score,
                model=round(model_factors.get('score', self.model_score)),
                fit_weight=percents.get('fit', 0), engagement_weight=percents.get('engagement', 0),
                model_weight=percents.get('model', 0), score=self.score))
        else:
            parts.append(Markup('<p class="mb-0 fw-bold">%s</p>') % self.env._(
                'Score = %(fit_weight)s%% fit %(fit)s + %(engagement_weight)s%% engagement %(engagement)s = %(score)s.',
                fit=self.fit_score, engagement=self.engagement_score,
                fit_weight=percents.get('fit', 0), engagement_weight=percents.get('engagement', 0),
                score=self.score))
        return Markup('').join(parts)

    def _format_score_notes(self, pending_config=False):
        """What the score leaves out or has yet to catch up with: the events kept out,
        a change since the lead was scored, a configuration pass yet to reach it.

        :param pending_config: a configuration pass under way has yet to reach the lead
        """
        self.ensure_one()
        parts = []
        if self.filtered_event_count:
            parts.append(Markup('<p class="text-muted mb-0">%s</p>') % self.env._(
                '%(count)s events were kept out of the score (%(why)s).',
                count=self.filtered_event_count, why=self.filtered_event_summary))
        if self.score_dirty:
            parts.append(Markup('<p class="text-warning mb-0">%s</p>') % self.env._(
                'The lead changed since it was scored: it will be rescored within seconds.'))
        elif pending_config:
            parts.append(Markup('<p class="text-warning mb-0">%s</p>') % self.env._(
                'The scoring configuration changed: the rules above are the new ones, the score is '
                'the one before; the rescore under way will reach this lead shortly.'))
        return Markup('').join(parts)

    # ------------------------------------------------------------
    # DEMO
    # ------------------------------------------------------------

    @api.model
    def _generate_lead_intelligence_demo(self, count=300, seed=19):
        """Create a realistic pipeline of ``count`` leads, some won and lost, and score it.

        Seeded, so every demo database holds the same leads.
        """
        rng = random.Random(seed)
        countries = self.env['res.country'].search([('code', 'in', DEMO_COUNTRY_CODES)])
        stages = self.env['crm.stage'].search([('is_won', '=', False)], order='sequence')
        team = self.env.ref('sales_team.team_sales_department', raise_if_not_found=False)
        users = self.env['res.users'].search([('share', '=', False), ('login', 'in', ['admin', 'demo'])])
        industries = self.env['res.partner.industry'].search([], limit=12)
        vals_list = []
        for index in range(count):
            company, domain = rng.choice(DEMO_COMPANIES)
            first, last = rng.choice(DEMO_FIRST_NAMES), rng.choice(DEMO_LAST_NAMES)
            free_mail = rng.random() < 0.2
            vals_list.append({
                'name': self.env._('%(company)s: %(need)s', company=company, need=rng.choice(DEMO_NEEDS)),
                'type': 'opportunity' if rng.random() < 0.6 else 'lead',
                'partner_name': company if rng.random() < 0.85 else False,
                'contact_name': f'{first} {last}',
                'function': rng.choice(DEMO_FUNCTIONS),
                'email_from': f'{first.lower()}.{last.lower()}{index}@{"gmail.com" if free_mail else domain}',
                'phone': f'+1 555 01{index:04d}' if rng.random() < 0.7 else False,
                'country_id': rng.choice(countries).id if countries else False,
                'expected_revenue': round(rng.lognormvariate(9.6, 1.1), -2),
                'priority': rng.choices(['0', '1', '2', '3'], weights=[50, 30, 15, 5])[0],
                'referred': rng.choice(['', '', '', 'Partner event', 'Existing customer']) or False,
                'stage_id': rng.choice(stages).id if stages else False,
                'team_id': team.id if team else False,
                'user_id': rng.choice(users).id if users and rng.random() < 0.5 else False,
                'industry_id': rng.choice(industries).id if industries and rng.random() < 0.7 else False,
                'employee_count': int(rng.lognormvariate(4.5, 1.6)) if rng.random() < 0.6 else 0,
                'annual_revenue': round(rng.lognormvariate(15.5, 1.8), -3) if rng.random() < 0.4 else 0,
            })
        leads = self.create(vals_list)
        # below 0.2 won, below 0.4 lost: decision makers and large deals are won more often, so that
        # the demo history teaches the model something
        outcomes = [rng.random() * 0.8 if vals['function'] in DEMO_DECISION_MAKERS or vals['expected_revenue'] > 30000
                    else 0.1 + rng.random() * 0.9 for vals in vals_list]
        self.browse([lead.id for lead, outcome in zip(leads, outcomes, strict=True) if outcome < 0.2]).action_set_won()
        self.browse([lead.id for lead, outcome in zip(leads, outcomes, strict=True)
                     if 0.2 <= outcome < 0.4]).action_set_lost()
        ages = [rng.randint(0, 540) for _lead in leads]
        self.env.flush_all()
        lead_writes.backdate_creation(self.env, leads.ids, ages)
        # closed some time after their creation: the model's validation takes the newest closed leads
        closed = [(lead.id, rng.randint(0, age)) for lead, outcome, age in zip(leads, outcomes, ages, strict=True)
                  if outcome < 0.4]
        lead_writes.backdate_closing(self.env, [lead_id for lead_id, _age in closed], [age for _id, age in closed])
        leads.invalidate_recordset(['create_date', 'date_closed'])
        self._generate_lead_intelligence_demo_events(leads, outcomes, rng)
        # score every lead of the demo database, crm's own demo leads included
        self._score_leads(self.with_context(active_test=False).search([('score_dirty', '=', True)]).ids, 'manual')
        # once more: the classification rules on the score (lifecycle) see the scores just computed
        self._score_leads(self.with_context(active_test=False).search([]).ids, 'manual')  # pylint: disable=no-search-all
        # the passes the demo rules and tiers scheduled have nothing left to do: every lead is scored
        self.env['crm.lead.score.run'].search([('state', '=', 'running')]).write(
            {'state': 'cancel', 'date_end': fields.Datetime.now()})
        return leads

    @api.model
    def _generate_lead_intelligence_demo_events(self, leads, outcomes, rng):
        """Behaviour of the demo leads over the last 90 days, through the event API's
        own path: more of it, and more buying signals, for the leads that were won;
        a few bot and too-short visits show the filters at work."""
        now = fields.Datetime.now()
        # well-fitting leads tend to engage more: score the fit first
        self._score_leads(leads.ids, 'manual')
        items = []
        for lead, outcome in zip(leads, outcomes, strict=True):
            interest = min(1.5, rng.random() * 0.6 + lead.fit_score / 100 + (0.3 if outcome < 0.2 else 0))
            for n in range(int(interest * 22)):
                code = rng.choices(
                    ['visit', 'time_on_site', 'key_page', 'download', 'email_open', 'email_click', 'email_reply',
                     'webinar_registration', 'webinar_attendance', 'form', 'pricing_page', 'demo_request',
                     'quote_request'],
                    weights=[30, 10, 14, 6, 20, 8, 3, 2, 2, 2, 3 * interest, 2 * interest, interest])[0]
                when = now - timedelta(days=rng.random() * 90 * (1.2 - interest / 2), minutes=rng.randint(0, 600))
                item = {'type': code, 'occurred_at': when.isoformat() + 'Z', 'lead_id': lead.id,
                        'external_id': f'demo-{lead.id}-{n}'}
                if code in ('visit', 'time_on_site'):
                    item['value'] = rng.choice([2, 45, 90, 180, 420, 600, 900, 1200])
                if code == 'visit' and rng.random() < 0.05:
                    item['user_agent'] = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'
                items.append(item)
        Event = self.env['crm.lead.event']
        Event._ingest(items, source='api')
        # counted here rather than by the job, which commits: demo data loads in one transaction
        Event._count_chunk(leads.ids, self._get_scoring_config())
