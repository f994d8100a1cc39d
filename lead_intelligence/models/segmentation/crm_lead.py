import numpy as np
from markupsafe import Markup

from odoo import api, fields, models
from odoo.tools import SQL

from ...engine import clustering
from ..writes import crm_lead as lead_writes
from ..writes import rfm as rfm_writes
from .features import read_chunk
from .rfm import ABC_CLASSES, RFM_SEGMENTS


class CrmLead(models.Model):
    """The lead's segments: its RFM segment (from its own engagement and expected revenue) and its
    account's ABC class, refreshed in SQL at the start of each full pass so that the rules read
    today's values; and the nearest segment of the latest segmentation run, kept by the passes."""

    _inherit = 'crm.lead'

    rfm_recency = fields.Integer(
        'Recency Score', readonly=True, copy=False, system_owned=True,
        help="1 to 5: the quintile of the lead's last counted event among the company's open leads, 5 the most "
             "recent.")
    rfm_frequency = fields.Integer(
        'Frequency Score', readonly=True, copy=False, system_owned=True,
        help="1 to 5: the quintile of the lead's counted events over the RFM window (their decayed units).")
    rfm_monetary = fields.Integer(
        'Monetary Score', readonly=True, copy=False, system_owned=True,
        help="1 to 5: the quintile of the lead's expected revenue.")
    rfm_segment = fields.Selection(RFM_SEGMENTS, 'RFM Segment', readonly=True, copy=False, system_owned=True)
    abc_class = fields.Selection(
        ABC_CLASSES, 'Account ABC Class', readonly=True, copy=False, system_owned=True,
        help="The ABC class of the lead's company (its contact's commercial entity).")

    def _rescore_all_leads(self, run):
        if not run.last_lead_id:
            self._refresh_rfm()
        return super()._rescore_all_leads(run)

    @api.model
    def _refresh_rfm(self):
        """RFM of the open leads and of the customers, ABC of the customers and their leads, in SQL,
        written where they changed; see ``writes/rfm.py``. Returns the rows written per table."""
        settings = self.env['res.config.settings']._get_lead_intelligence_settings()
        self.env.flush_all()
        written = rfm_writes.refresh(self.env, settings['rfm_window_days'], settings['abc_window_days'],
                                     settings['abc_a_share'], settings['abc_b_share'])
        self.invalidate_model(['rfm_recency', 'rfm_frequency', 'rfm_monetary', 'rfm_segment', 'abc_class'])
        self.env['res.partner'].invalidate_model(
            ['rfm_recency', 'rfm_frequency', 'rfm_monetary', 'rfm_segment', 'abc_class'])
        return written

    def _format_segment_explanation(self):
        """The lead's segments in one line, those it has: RFM, ABC, segment, account, profile completeness."""
        self.ensure_one()
        parts = []
        if self.rfm_segment:
            parts.append(self.env._('RFM: %s', dict(self._fields['rfm_segment']._description_selection(self.env))[
                self.rfm_segment]))
        if self.abc_class:
            parts.append(self.env._('ABC: %s', self.abc_class.upper()))
        if self.cluster_id:
            parts.append(self.env._('Segment: %s', self.cluster_id.name))
        if self.account_tier_id:
            parts.append(self.env._('Account: %(score)s (%(tier)s)', score=self.account_score,
                                    tier=self.account_tier_id.name))
        if self.account_summary:
            parts.append(self.account_summary)
        parts.append(self.env._('Profile %s %% complete', self.profile_completeness))
        return Markup('<p class="mb-0 text-muted o_lead_segments">%s</p>') % ' · '.join(parts)

    cluster_id = fields.Many2one(
        'crm.lead.cluster', 'Lead Segment', readonly=True, copy=False, index='btree_not_null', system_owned=True,
        help="The segment of similar leads nearest to this one (Configuration > Segments).")

    def _score_query(self, query, cause, config=None, chunk=None):
        """The pass, then the nearest segment of its leads, on their scores just written."""
        ids, changed = super()._score_query(query, cause, config, chunk)
        if ids:
            self._assign_clusters(ids)
        return ids, changed

    @api.model
    def _assign_clusters(self, ids):
        """Give the leads ``ids`` the nearest segment of the latest run, where it changed (one read,
        one write)."""
        run, segments = self.env['crm.lead.cluster.run']._get_active()
        if segments is None:
            return
        # what the features read (see features.read_chunk)
        self.flush_model()
        self.env['crm.lead.score'].flush_model(['fit_score', 'engagement_score'])
        lead_ids, _won, X = read_chunk(self.env, SQL('lead.id = ANY(%s)', list(ids)), 0, limit=len(ids))
        if len(lead_ids):
            cluster_ids = np.asarray(run.cluster_ids.sorted('sequence').ids)
            lead_writes.set_clusters(self.env, lead_ids, cluster_ids[clustering.nearest(segments, X)])
            self.invalidate_model(['cluster_id'])
