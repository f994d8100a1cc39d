from odoo import fields, models, tools
from odoo.tools import SQL

from ..models.classification.dimensions import (
    COMPANY_SIZES,
    INTENT_LEVELS,
    JOB_LEVELS,
    LIFECYCLE_STAGES,
    SALES_STAGE_CLASSES,
    SELECTION_DIMENSIONS,
    SOURCE_TYPES,
)
from ..models.segmentation.rfm import ABC_CLASSES, RFM_SEGMENTS

SCORE_BANDS = [(str(low), f'{low}–{low + 9}' if low < 90 else '90–100') for low in range(0, 100, 10)]
OUTCOMES = [('pending', 'Open'), ('won', 'Won'), ('lost', 'Lost')]
COMPLETENESS_BANDS = [('0', '0–24 %'), ('25', '25–49 %'), ('50', '50–74 %'), ('75', '75–100 %')]


class CrmLeadTierReport(models.Model):
    """Tier performance: one row per lead (open, won or lost; archived leads that are not lost are
    left out), with its tier, classification, outcome, cycle and revenue.

    Every measure stays right at any grouping: counts are sums of 0 / 1 columns, the conversion
    rate is the average of 100 (won) / 0 (lost) / empty (open), that is # won / # closed, days to
    win and deal size are empty unless won, and the median days to win is computed by PostgreSQL
    for each group (``_read_group_select``). The median sorts every lead of the groups, where the
    other measures are summed in one hash pass: the pivot opens without it (a measure to add).
    """

    _name = 'crm.lead.tier.report'
    _description = 'Lead Tier Performance'
    _auto = False
    _rec_name = 'lead_id'
    _order = 'create_date desc'
    _depends = {
        'crm.lead': ['active', 'won_status', 'create_date', 'date_closed', 'team_id', 'user_id', 'tier_id',
                     'company_id', 'expected_revenue', 'score_line_id', 'industry_id', 'class_ids',
                     'rfm_segment', 'abc_class', 'cluster_id', 'account_tier_id', 'profile_completeness',
                     *SELECTION_DIMENSIONS],
        'crm.lead.score': ['score'],
        'res.company': ['currency_id'],
    }

    lead_id = fields.Many2one('crm.lead', readonly=True)
    tier_id = fields.Many2one('crm.lead.tier', readonly=True)
    team_id = fields.Many2one('crm.team', 'Sales Team', readonly=True)
    user_id = fields.Many2one('res.users', 'Salesperson', readonly=True)
    company_id = fields.Many2one('res.company', readonly=True)
    company_currency = fields.Many2one('res.currency', 'Currency', readonly=True)
    create_date = fields.Datetime('Created On', readonly=True)
    date_closed = fields.Datetime('Closed On', readonly=True)
    won_status = fields.Selection(OUTCOMES, 'Outcome', readonly=True)
    # the classification, by the labels of its values
    industry_id = fields.Many2one('res.partner.industry', readonly=True)
    company_size = fields.Selection(COMPANY_SIZES, readonly=True)
    job_level = fields.Selection(JOB_LEVELS, readonly=True)
    source_type = fields.Selection(SOURCE_TYPES, readonly=True)
    sales_stage_class = fields.Selection(SALES_STAGE_CLASSES, readonly=True)
    intent_level = fields.Selection(INTENT_LEVELS, readonly=True)
    lifecycle_stage = fields.Selection(LIFECYCLE_STAGES, readonly=True)
    # the lead's own links: a row's id is its lead's
    class_ids = fields.Many2many(
        'crm.lead.class', 'crm_lead_class_rel', 'lead_id', 'class_id', string='Classes', readonly=True)
    score_band = fields.Selection(SCORE_BANDS, readonly=True, help="The lead's score, by tens.")
    # segments
    rfm_segment = fields.Selection(RFM_SEGMENTS, 'RFM Segment', readonly=True)
    abc_class = fields.Selection(ABC_CLASSES, 'Account ABC Class', readonly=True)
    cluster_id = fields.Many2one('crm.lead.cluster', 'Lead Segment', readonly=True)
    account_tier_id = fields.Many2one('crm.lead.tier', readonly=True)
    completeness_band = fields.Selection(
        COMPLETENESS_BANDS, 'Profile Completeness', readonly=True,
        help="The share of the expected profile fields the lead has filled, by quarters.")
    # measures
    lead_count = fields.Integer('# Leads', readonly=True, aggregator='sum')
    open_count = fields.Integer('# Open', readonly=True, aggregator='sum')
    won_count = fields.Integer('# Won', readonly=True, aggregator='sum')
    lost_count = fields.Integer('# Lost', readonly=True, aggregator='sum')
    closed_count = fields.Integer('# Closed', readonly=True, aggregator='sum', help="Won or lost leads.")
    conversion_rate = fields.Float(
        'Conversion %', readonly=True, aggregator='avg', digits=(16, 1),
        help="Won leads out of the closed (won or lost) ones, in percent.")
    days_to_win = fields.Float(
        'Average Days to Win', readonly=True, aggregator='avg', digits=(16, 1),
        help="From the lead's creation to its closing, over the won leads.")
    median_days_to_win = fields.Float(
        'Median Days to Win', readonly=True, aggregator='avg', digits=(16, 1),
        help="Half of the won leads were won in fewer days.")
    won_revenue = fields.Monetary(
        readonly=True, aggregator='sum', currency_field='company_currency',
        help="Expected revenue of the won leads.")
    # a float: the pivot sums a monetary measure converted when its groups mix currencies, which
    # would show a sum as the average
    deal_size = fields.Float(
        'Average Deal Size', readonly=True, aggregator='avg', digits=(16, 2),
        help="Expected revenue of the won leads, on average, in their company's currency.")
    score = fields.Float('Average Score', readonly=True, aggregator='avg', digits=(16, 1))

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        won = SQL("lead.won_status = 'won'")
        cycle_days = SQL("EXTRACT(EPOCH FROM lead.date_closed - lead.create_date) / 86400")
        self.env.cr.execute(SQL(
            """CREATE VIEW %(table)s AS (
               SELECT lead.id, lead.id AS lead_id, lead.tier_id, lead.team_id, lead.user_id, lead.company_id,
                      -- a lead of no company is in the main company's currency, as crm shows it: an
                      -- uncorrelated subquery, run once, and not at all when the column is not read (a join
                      -- to it would keep PostgreSQL from aggregating the leads in parallel)
                      COALESCE(company.currency_id, (SELECT main.currency_id FROM res_company main
                                                      ORDER BY main.sequence, main.id LIMIT 1)) AS company_currency,
                      lead.create_date,
                      lead.date_closed,
                      lead.won_status, lead.industry_id, %(dimensions)s,
                      (LEAST(FLOOR(score.score / 10), 9) * 10)::int::varchar AS score_band,
                      lead.rfm_segment, lead.abc_class, lead.cluster_id, lead.account_tier_id,
                      (LEAST(FLOOR(COALESCE(lead.profile_completeness, 0) / 25), 3) * 25)::int::varchar
                          AS completeness_band,
                      1 AS lead_count,
                      (lead.won_status = 'pending')::int AS open_count,
                      (%(won)s)::int AS won_count,
                      (lead.won_status = 'lost')::int AS lost_count,
                      (lead.won_status IN ('won', 'lost'))::int AS closed_count,
                      CASE lead.won_status WHEN 'won' THEN 100.0 WHEN 'lost' THEN 0.0 END AS conversion_rate,
                      CASE WHEN %(won)s THEN %(cycle_days)s END AS days_to_win,
                      CASE WHEN %(won)s THEN %(cycle_days)s END AS median_days_to_win,
                      CASE WHEN %(won)s THEN lead.expected_revenue ELSE 0 END AS won_revenue,
                      CASE WHEN %(won)s THEN lead.expected_revenue END AS deal_size,
                      score.score AS score
                 FROM crm_lead lead
                 LEFT JOIN res_company company ON company.id = lead.company_id
                 LEFT JOIN crm_lead_score score ON score.id = lead.score_line_id
                WHERE lead.active OR lead.won_status = 'lost')""",
            table=SQL.identifier(self._table),
            dimensions=SQL(', ').join(SQL('lead.%s', SQL.identifier(name)) for name in SELECTION_DIMENSIONS),
            won=won, cycle_days=cycle_days))

    def _read_group_select(self, aggregate_spec, query):
        """The median days to win of each group, rather than the average of its leads' days."""
        if aggregate_spec != 'median_days_to_win:avg':
            return super()._read_group_select(aggregate_spec, query)
        return SQL('PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY %s)',
                   self._field_to_sql(self._table, 'median_days_to_win', query))
