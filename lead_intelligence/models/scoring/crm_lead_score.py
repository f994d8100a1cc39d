from odoo import fields, models


class CrmLeadScore(models.Model):
    """The often-rewritten scores of a lead, in a narrow table beside ``crm_lead``.

    ``crm_lead`` is wide and carries some thirty indexes: updating one of its
    rows rewrites the row and, unless the update is HOT, every index entry.
    A full rescore changes most scores, so they live here, one short row per
    lead, and ``crm.lead`` reads them through related fields (searchable and
    sortable: Odoo joins this table). Only what the kanban groups by (the tier)
    and the dirty flag stay on ``crm_lead``. See the README for the figures.
    """

    _name = 'crm.lead.score'
    _description = 'Lead Score'
    _log_access = False  # written in bulk by SQL; score_date says when

    lead_id = fields.Many2one('crm.lead', required=True, ondelete='cascade')
    fit_score = fields.Integer(aggregator='avg')
    score = fields.Integer(aggregator='avg')
    engagement_score = fields.Integer(aggregator='avg')
    score_date = fields.Datetime('Score Changed On')
    # empty when the lead's company has no active model
    model_probability = fields.Float(digits=(16, 4), aggregator='avg')
    model_score = fields.Integer(aggregator='avg')

    _lead_id_uniq = models.UniqueIndex('(lead_id)')

    def init(self):
        # The lead's matches of the stable fit rules (see crm.lead.domain.rule._is_stable), as the
        # bit words of engine.scoring.pack_matches, in the order of the pass's stable rules: the
        # nightly pass reads them instead of matching those rules again on the leads no one
        # changed. Bits for the pass alone: no field, a bigint array Odoo has no field type for.
        self.env.cr.execute('ALTER TABLE crm_lead_score ADD COLUMN IF NOT EXISTS stable_matches bigint[]')
        # What the nightly pass needs of a lead whose row of crm_lead it does not read (see
        # crm.lead._read_scoring_rows): its company (0 for none), its tier (0 for none) and whether
        # it is open, as they were when it was last scored. Each pass that reads the lead's row
        # writes them where they differ; a change of either flags the lead (the company and the
        # lead's state by its dirty trigger, the tier is the pass's own). For the pass alone.
        self.env.cr.execute(
            'ALTER TABLE crm_lead_score ADD COLUMN IF NOT EXISTS lead_company_id integer, '
            'ADD COLUMN IF NOT EXISTS lead_tier_id integer, ADD COLUMN IF NOT EXISTS lead_open boolean')
        # Until when the lead's scores hold as its engagement decays (POSIX seconds; infinity: for ever;
        # empty: not known), from engine.scoring.hold_seconds: the nightly pass does not read the
        # leads not flagged whose time has not come (see crm.lead._read_unflagged_rows). For the pass alone.
        self.env.cr.execute('ALTER TABLE crm_lead_score ADD COLUMN IF NOT EXISTS settled_until double precision')
        # Half of each page kept free: a pass rewrites most rows, and a row's new version then fits
        # in its own page, an update that writes no index entry (HOT: no column here is indexed but
        # the id and the lead). In full pages every update wrote both indexes (measured on 340,349
        # rows: their upsert 2.1 to 3.0 s, against 1.0 s with half the page free).
        self.env.cr.execute('ALTER TABLE crm_lead_score SET (fillfactor = 50)')
