import json

import numpy as np

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ...engine import clustering
from ..writes import crm_lead as lead_writes
from .features import feature_labels, feature_names, iter_chunks

OPEN = SQL("lead.active AND lead.won_status = 'pending'")
CLOSED = SQL("(lead.won_status = 'won' AND lead.active) OR lead.won_status = 'lost'")


class CrmLeadClusterRun(models.Model):
    """A clustering of the open leads into segments of similar leads (see ``engine/clustering.py``).

    *Find Segments* fits the segments on every open lead, read a chunk at a time, assigns each
    open lead its nearest segment, and measures each segment's conversion on the closed leads
    nearest to it. The latest run's segments are the leads' segments: the scoring passes give
    new and changed leads their nearest one.
    """

    _name = 'crm.lead.cluster.run'
    _description = 'Lead Segmentation Run'
    _order = 'id desc'

    name = fields.Char(compute='_compute_name')
    segment_count = fields.Integer(
        'Number of Segments', default=0,
        help="0: chosen from the data (2 to 8, the number whose segments are the most distinct).")
    seed = fields.Integer('Random Seed', default=0, help="The same seed on the same leads gives the same segments.")
    state = fields.Selection([('draft', 'Draft'), ('done', 'Done')], default='draft', readonly=True, required=True)
    date = fields.Datetime('Run On', readonly=True)
    silhouette = fields.Float(
        'Distinctness', readonly=True, digits=(16, 2),
        help="Silhouette of the segments on a sample of the leads, -1 to 1: above 0.25, the segments are clearly "
             "apart; near 0, the leads do not fall into distinct groups.")
    lead_count = fields.Integer('Open Leads', readonly=True)
    parameters = fields.Text(readonly=True, help="The scaler and the centres, as JSON.")
    cluster_ids = fields.One2many('crm.lead.cluster', 'run_id', 'Segments')
    company_id = fields.Many2one('res.company', default=lambda self: self.env.company)

    @api.depends('date', 'cluster_ids')
    def _compute_name(self):
        for run in self:
            run.name = self.env._('%(count)s segments', count=len(run.cluster_ids)) if run.state == 'done' \
                else self.env._('New segmentation')

    def action_run(self):
        """Fit the segments, assign the open leads, measure the closed ones; see the class."""
        self.ensure_one()
        if self.segment_count and not 2 <= self.segment_count <= 30:
            raise UserError(self.env._('Choose between 2 and 30 segments, or 0 to let the data decide.'))
        self.env.flush_all()
        names = feature_names()
        try:
            segments = clustering.fit_segments(
                names, lambda: (X for _ids, _won, X in iter_chunks(self.env, OPEN)),
                k=self.segment_count or None, random_state=self.seed)
        except ValueError as error:
            raise UserError(self.env._('The segments cannot be found: %s', error)) from error
        k = len(segments.centres)
        sizes, won, lost = np.zeros(k, dtype=np.int64), np.zeros(k, dtype=np.int64), np.zeros(k, dtype=np.int64)
        for _ids, outcome, X in iter_chunks(self.env, CLOSED):
            nearest = clustering.nearest(segments, X)
            won += np.bincount(nearest[outcome == 1], minlength=k)
            lost += np.bincount(nearest[outcome == 0], minlength=k)
        descriptions = clustering.describe(segments, feature_labels(self.env))
        clusters = self.env['crm.lead.cluster'].create([{
            'run_id': self.id, 'sequence': index,
            'name': ', '.join(words) or self.env._('Average leads'),
            'description': ', '.join(words) or self.env._('Close to the average lead on every feature'),
            'won_count': int(won[index]), 'lost_count': int(lost[index]),
        } for index, words in enumerate(descriptions)])
        self.write({'state': 'done', 'date': fields.Datetime.now(), 'silhouette': segments.silhouette,
                    'parameters': json.dumps(segments.to_json())})
        for ids, _outcome, X in iter_chunks(self.env, OPEN):
            nearest = clustering.nearest(segments, X)
            sizes += np.bincount(nearest, minlength=k)
            lead_writes.set_clusters(self.env, ids, np.asarray(clusters.ids)[nearest])
        for cluster, size in zip(clusters, sizes.tolist(), strict=True):
            cluster.lead_count = size
        self.lead_count = int(sizes.sum())
        self.env['crm.lead'].invalidate_model(['cluster_id'])
        return True

    @api.model
    def _get_active(self):
        """The latest done run and its segments (engine), or (empty, None)."""
        run = self.search([('state', '=', 'done')], limit=1)
        if not run:
            return run, None
        return run, clustering.Segments.from_json(json.loads(run.parameters))
