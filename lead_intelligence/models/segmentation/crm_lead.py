import numpy as np

from odoo import api, fields, models
from odoo.tools import SQL

from ...engine import clustering
from ..writes import crm_lead as lead_writes
from .features import read_chunk


class CrmLead(models.Model):
    """The lead's segment: the nearest segment of the latest segmentation run, kept by the passes."""

    _inherit = 'crm.lead'

    cluster_id = fields.Many2one(
        'crm.lead.cluster', 'Segment', readonly=True, copy=False, index='btree_not_null', system_owned=True,
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
        self.env.flush_all()
        lead_ids, _won, X = read_chunk(self.env, SQL('lead.id = ANY(%s)', list(ids)), 0, limit=len(ids))
        if len(lead_ids):
            cluster_ids = np.asarray(run.cluster_ids.sorted('sequence').ids)
            lead_writes.set_clusters(self.env, lead_ids, cluster_ids[clustering.nearest(segments, X)])
            self.invalidate_model(['cluster_id'])
