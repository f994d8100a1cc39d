from datetime import timedelta

import numpy as np
from lxml import etree

from odoo import api, fields, models
from odoo.tools import SQL

from ...engine import arrays, trend
from ...engine.stages import Notes, TrackingCells
from .. import bulk

SCORE_TRENDS = [('improving', 'Improving'), ('steady', 'Steady'), ('declining', 'Declining')]
TIMELINE_POINTS = 100  # the last score changes the lead's chart shows
TOP_REASONS = 3  # reasons of each kind the score popover shows


class CrmLead(models.Model):
    """What a salesperson sees of the scores without opening the form: the score's trend,
    its reasons on the card, the filters per tier, the alert when a lead enters a hot tier."""

    _inherit = 'crm.lead'

    # Set by the pass, from the score history, beside the scores (crm.lead.score): rewritten as often
    # as they are, it would rewrite the wide crm_lead row; filters and group-bys join it as for the score
    score_trend = fields.Selection(
        related='score_line_id.score_trend', system_owned=True,
        help="How the score moved over the trend window set in the CRM settings: up or down by at least "
             f"{trend.TREND_MIN_POINTS} points, or steady. Updated each time the lead is scored.")
    score_timeline = fields.Json(compute='_compute_score_timeline')

    def _compute_score_timeline(self):
        """The lead's scores over time, from its score history: [[date, score], ...], oldest first."""
        rows = self.env.execute_query(SQL(
            """SELECT lead_id, date, new_score FROM (
                   SELECT lead_id, date, new_score, id,
                          row_number() OVER (PARTITION BY lead_id ORDER BY date DESC, id DESC) AS rank
                     FROM crm_lead_score_history
                    WHERE lead_id = ANY(%s) AND new_score IS NOT NULL
               ) AS history
               WHERE rank <= %s ORDER BY lead_id, date, id""",
            [lead_id for lead_id in self.ids if isinstance(lead_id, int)], TIMELINE_POINTS))
        timelines = {}
        for lead_id, date, score in rows:
            timelines.setdefault(lead_id, []).append([fields.Datetime.to_string(date), score])
        for lead in self:
            lead.score_timeline = timelines.get(lead.id, [])

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    @api.model
    def _get_view(self, view_id=None, view_type='form', **options):
        """Search views: one filter per tier, named and ranked as the admin set the tiers, in
        place of fixed score ranges."""
        arch, view = super()._get_view(view_id, view_type, **options)
        anchor = arch.find(".//filter[@name='lead_intelligence_tier_filters']") if view_type == 'search' else None
        if anchor is not None:
            parent = anchor.getparent()
            position = parent.index(anchor)
            parent.remove(anchor)
            for offset, (attributes, domain) in enumerate(self._get_tier_filters()):
                parent.insert(position + offset, etree.Element('filter', {**attributes, 'domain': str(domain)}))
        return arch, view

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def get_score_reasons(self):
        """The score of one lead, for its card's popover: tier, trend and top reasons.

        :return: {'score', 'tier', 'tier_color', 'trend', 'trend_label', 'score_dirty',
            'fit': [{'name', 'points'}], 'behaviour': [...], 'model': [...]}, each list the
            largest contributions first, at most ``TOP_REASONS`` of them
        """
        self.ensure_one()
        config = self._get_scoring_config()
        state, matches, _stable = self._read_scoring_rows(self._query_leads(self.ids), config)
        fit = [{'name': rule.name, 'points': rule.points}
               for rule, matched in zip(config.rules, matches[0] if len(state) else (), strict=False) if matched]
        behaviour = [{'name': event_type.name, 'points': round(points, 1)}
                     for event_type, points in self._read_engagement_contributions(state.id, config).get(self.id, [])
                     if round(points, 1)]
        explanation = self._explain_model(state.id, state.company_id, config).get(self.id) or {}
        model = [{'name': words, 'points': round(points)} for words, points in explanation.get('factors', ())
                 if round(points)]
        trends = dict(self._fields['score_trend']._description_selection(self.env))
        return {
            'score': self.score,
            'tier': self.tier_id.display_name or '',
            'tier_color': self.tier_color,
            'trend': self.score_trend or '',
            'trend_label': trends.get(self.score_trend, ''),
            'score_dirty': self.score_dirty,
            'fit': _top(fit),
            'behaviour': _top(behaviour),
            'model': _top(model),
        }

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    @api.model
    def _get_tier_filters(self):
        """One search filter per tier name, best tier first: the tiers of the same name in several
        companies share it; its label gives the threshold when they share that too.

        :return: [({'name', 'string'}, domain)]
        """
        # sudo: the filters are cached for every user; a user sees the leads of the tiers they may read
        tiers = self.env['crm.lead.tier'].sudo().search([])  # pylint: disable=no-search-all
        by_name = {}
        for tier in tiers:
            by_name.setdefault(tier.name, []).append(tier)
        filters = []
        for index, (name, same) in enumerate(by_name.items()):
            minimums = {tier.min_score for tier in same}
            string = self.env._('Tier %(tier)s (%(score)s+)', tier=name, score=minimums.pop()) \
                if len(minimums) == 1 else self.env._('Tier %s', name)
            filters.append(({'name': f'lead_intelligence_tier_{index}', 'string': string},
                             [('tier_id', 'in', [tier.id for tier in same])]))
        return filters

    @api.model
    def _score_trends(self, ids, scores, old_scores, logged, changed=None, chunk=None):
        """The score trends of the leads ``ids``, to be scored ``scores`` now (aligned (n,) int
        arrays), against their score at the start of the trend window; a step of the pass, taken
        before it writes, so that the trends go with the scores in one write.

        The score at the start of the window (the baseline) is the last one the history records by
        then, or for a lead scored since, the first one it records after. A full pass keeps each
        lead's baseline beside its scores, with the start it holds for, and reads it back the next
        time: it holds until a history row of the lead passes the window's start, and the pass
        reads the history again for those leads (the ``passed`` ones below) only. Another pass
        reads the history and keeps no baseline.

        :param old_scores: (n,) int, the scores stored before the pass (-1 for none)
        :param logged: (n,) bool, the leads whose change the pass records in the history next:
            their row counts as if written already (it is the first after the window's start of a
            lead without an older one)
        :param changed: (n,) bool, the leads whose score the pass changes: given, only their
            trends are set (new behaviour: the others' are set at night), and in a full pass
            after another with the same window (``chunk.trend_since``, see ``_rescore_all_leads``)
            those of the leads with a history row the window's start passed since the previous
            pass (their score at the start of the window changed)
        :param chunk: the ``PassChunk`` of a full pass
        :return: ``(codes, baselines, start)``: (n,) int, each lead's trend as a position in
            ``engine.trend.TRENDS``, -1 for a lead whose trend is not set; (n,) int, the baselines
            of the leads whose trend is set (-1 for none); the window's start to keep them with,
            None to keep none
        """
        window = self.env['res.config.settings']._get_lead_intelligence_settings()['trend_window_days']
        start = self.env.cr.now() - timedelta(days=window)
        ids, scores = np.asarray(ids), np.asarray(scores)
        codes = np.full(len(ids), -1, dtype=np.int64)
        baseline = np.full(len(ids), -1, dtype=np.int64)
        keep = np.ones(len(ids), dtype=bool)
        known = np.zeros(len(ids), dtype=bool)
        if changed is not None:
            keep = np.asarray(changed, dtype=bool)
        if chunk is not None and chunk.trend_since:
            passed = np.isin(ids, [row[0] for row in self.env.execute_query(SQL(
                """SELECT DISTINCT lead_id FROM crm_lead_score_history
                    WHERE date > %s AND date <= %s AND lead_id > %s AND lead_id <= %s""",
                chunk.trend_since - timedelta(days=window), start, chunk.low, chunk.high))])
            keep = keep | passed
            if keep.any():
                # the leads kept only, where they are few in the range (a pass that reads only the leads
                # whose scores may move spans wide ranges): else the range, through the index
                few = SQL('AND lead_id = ANY(%s::int[])', arrays.int_array_literal(ids[keep])) \
                    if 4 * int(keep.sum()) < chunk.high - chunk.low else SQL()
                stored = dict(self.env.execute_query(SQL(
                    """SELECT lead_id, trend_baseline FROM crm_lead_score
                        WHERE lead_id > %s AND lead_id <= %s AND trend_start <= %s %s""",
                    chunk.low, chunk.high, start, few)))
                known = keep & ~passed & np.isin(ids, list(stored))
                baseline[known] = [stored[lead_id] for lead_id in ids[known].tolist()]
        if not keep.any():
            return codes, baseline, None
        read = keep & ~known
        if read.any():
            # ordered by the lead first: the (lead, date) index, not a walk of the whole history by date
            baselines = dict(self.env.execute_query(SQL(
                """SELECT v.id, COALESCE(
                              (SELECT h.new_score FROM crm_lead_score_history h
                                WHERE h.lead_id = v.id AND h.date <= %(start)s AND h.new_score IS NOT NULL
                                ORDER BY h.lead_id DESC, h.date DESC, h.id DESC LIMIT 1),
                              (SELECT COALESCE(h.old_score, h.new_score) FROM crm_lead_score_history h
                                WHERE h.lead_id = v.id AND h.date > %(start)s
                                ORDER BY h.lead_id, h.date, h.id LIMIT 1),
                              -1)
                     FROM unnest(%(ids)s::int[]) AS v(id)""",
                ids=arrays.int_array_literal(ids[read]), start=start)))
            baseline[read] = [baselines[lead_id] for lead_id in ids[read].tolist()]
        # a lead without history: its first row is the one the pass writes now, from its old score
        old = np.asarray(old_scores)
        first = keep & (baseline < 0) & np.asarray(logged, dtype=bool)
        baseline[first] = np.where(old[first] >= 0, old[first], scores[first])
        codes[keep] = trend.score_trends(baseline[keep], scores[keep])
        return codes, baseline, start if chunk is not None else None

    @api.model
    def _on_tier_moves(self, ids, old_tier_ids, new_tier_ids):
        """Leads entering the top tier, or a tier flagged ``notify``, alert their salesperson
        (their team leader when they have none): an inbox note and an activity, once per entry.

        After the other hooks: routing may have queued them, not yet routed them.
        """
        res = super()._on_tier_moves(ids, old_tier_ids, new_tier_ids)
        entering = np.isin(new_tier_ids, list(self.env['crm.lead.tier']._get_alert_tiers()))
        if entering.any():
            self._alert_hot_leads(ids[entering])
        return res

    @api.model
    def _alert_hot_leads(self, ids):
        """Alert the owner of each of the leads ``ids``, which just entered an alerting tier."""
        rows = self.env.execute_query(SQL(
            """SELECT lead.id, owner.id, owner.partner_id, tier.id
                 FROM crm_lead lead
                 JOIN crm_lead_tier tier ON tier.id = lead.tier_id
                 LEFT JOIN crm_team team ON team.id = lead.team_id
                 JOIN res_users owner ON owner.id = COALESCE(lead.user_id, team.user_id)
                WHERE lead.id = ANY(%s) AND lead.active AND lead.won_status = 'pending'
                ORDER BY lead.id""", np.asarray(ids).tolist()))
        if not rows:
            return
        lead_ids, user_ids, partner_ids, tier_ids = (list(column) for column in zip(*rows, strict=True))
        # sudo: the system's own alert, whoever's edit moved the lead
        tiers = self.env['crm.lead.tier'].sudo().browse(tier_ids)
        bodies = [self.env._('Hot lead: it entered tier %s.', tier.display_name) for tier in tiers]
        bulk.post_notes(self.browse(lead_ids), Notes(
            res_id=np.array(lead_ids), body=np.array(bodies, dtype=object), partner_id=np.array(partner_ids)),
            TrackingCells.concatenate(), self.env.cr.now())
        todo = self.env.ref('mail.mail_activity_data_todo')
        model_id = self.env['ir.model']._get_id('crm.lead')
        today = fields.Date.context_today(self)
        # sudo: as above; quick update: the inbox note above is the notification, not one mail per activity
        self.env['mail.activity'].sudo().with_context(mail_activity_quick_update=True).create([{
            'res_model_id': model_id, 'res_id': lead_id, 'user_id': user_id, 'date_deadline': today,
            'activity_type_id': (tier.followup_activity_type_id or todo).id,
            'summary': self.env._('Hot lead: tier %s', tier.display_name),
        } for lead_id, user_id, tier in zip(lead_ids, user_ids, tiers, strict=True)])
        # sudo: as above, to tell each salesperson online at once
        for user in self.env['res.users'].sudo().browse(sorted(set(user_ids))):
            user._bus_send('simple_notification', {
                'type': 'info', 'sticky': False, 'title': self.env._('Hot leads'),
                'message': self.env._('%s of your leads entered a hot tier: see your activities.',
                                      user_ids.count(user.id)),
            })


def _top(reasons):
    """The ``TOP_REASONS`` reasons of largest effect, largest first."""
    return sorted(reasons, key=lambda reason: -abs(reason['points']))[:TOP_REASONS]


class CrmLeadScore(models.Model):
    _inherit = 'crm.lead.score'

    score_trend = fields.Selection(SCORE_TRENDS, readonly=True)

    def init(self):
        res = super().init()
        # The lead's score at the start of the trend window, and that start, as a full pass found
        # them (see crm.lead._score_trends): the next full pass reads them instead of the history,
        # but for the leads a history row of which passed the start since. Empty after any other
        # pass that set the trend. For the passes alone.
        self.env.cr.execute('ALTER TABLE crm_lead_score ADD COLUMN IF NOT EXISTS trend_baseline integer, '
                            'ADD COLUMN IF NOT EXISTS trend_start timestamp')
        return res
