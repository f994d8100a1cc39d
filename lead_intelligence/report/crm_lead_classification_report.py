from odoo import fields, models
from odoo.tools import SQL

from ..models.classification.dimensions import DIMENSIONS, SELECTION_DIMENSIONS


class CrmLeadClassificationReport(models.Model):
    """Classification statistics: one row per lead and dimension (one per class for the classes,
    one with an empty value when the lead has none), with the lead's outcome and score.

    The conversion of a group is won / closed (won + lost): the pivot shows both measures.
    """

    _name = 'crm.lead.classification.report'
    _description = 'Lead Classification Statistics'
    _auto = False
    _rec_name = 'value'
    _order = 'dimension, value'
    _depends = {
        'crm.lead': ['active', 'won_status', 'create_date', 'team_id', 'user_id', 'tier_id', 'company_id',
                     'score_line_id', 'industry_id', 'class_ids', *SELECTION_DIMENSIONS],
        'crm.lead.score': ['score'],
        'res.partner.industry': ['name'],
        'crm.lead.class': ['complete_name'],
    }

    lead_id = fields.Many2one('crm.lead', readonly=True)
    dimension = fields.Selection(DIMENSIONS, readonly=True)
    value = fields.Char(
        readonly=True,
        help="The technical key of the value, the industry's name, or the class's full name; empty: no value.")
    create_date = fields.Datetime('Created On', readonly=True)
    team_id = fields.Many2one('crm.team', 'Sales Team', readonly=True)
    user_id = fields.Many2one('res.users', 'Salesperson', readonly=True)
    tier_id = fields.Many2one('crm.lead.tier', readonly=True)
    company_id = fields.Many2one('res.company', readonly=True)
    lead_count = fields.Integer(
        '# Leads', readonly=True, aggregator='sum',
        help="Leads with this value; a lead with several classes counts once per class.")
    won = fields.Integer(
        '# Won', readonly=True, aggregator='sum',
        help="Won leads. Conversion rate = # Won / # Closed (won + lost).")
    lost = fields.Integer('# Lost', readonly=True, aggregator='sum')
    closed = fields.Integer(
        '# Closed', readonly=True, aggregator='sum',
        help="Won or lost leads. Conversion rate = # Won / # Closed.")
    score = fields.Float('Average Score', readonly=True, aggregator='avg', digits=(16, 1))

    @property
    def _table_query(self):
        return SQL('SELECT ROW_NUMBER() OVER () AS id, rows.* FROM (%s) AS rows', self._lead_rows_query(SQL('TRUE')))

    def _lead_rows_query(self, where):
        """Rows (lead_id, dimension, value, create_date, team_id, user_id, tier_id, company_id,
        lead_count, won, lost, closed, score) of the leads matching ``where`` (on ``lead``)."""
        lang = self.env.lang or 'en_US'
        common = SQL(
            """lead.id AS lead_id, d.dimension, d.value, lead.create_date, lead.team_id, lead.user_id,
               lead.tier_id, lead.company_id, 1 AS lead_count,
               CASE WHEN lead.won_status = 'won' THEN 1 ELSE 0 END AS won,
               CASE WHEN lead.won_status = 'lost' THEN 1 ELSE 0 END AS lost,
               CASE WHEN lead.won_status IN ('won', 'lost') THEN 1 ELSE 0 END AS closed,
               score.score::float AS score""")
        values = SQL(', ').join(
            [SQL("('industry', COALESCE(industry.name->>%s, industry.name->>'en_US'))", lang)]
            + [SQL('(%s, lead.%s::varchar)', dimension, SQL.identifier(dimension))
               for dimension in SELECTION_DIMENSIONS])
        return SQL(
            """SELECT %(common)s
                 FROM crm_lead lead
                 LEFT JOIN crm_lead_score score ON score.id = lead.score_line_id
                 LEFT JOIN res_partner_industry industry ON industry.id = lead.industry_id
                CROSS JOIN LATERAL (VALUES %(values)s) AS d(dimension, value)
                WHERE %(where)s
               UNION ALL
               SELECT %(common)s
                 FROM crm_lead lead
                 LEFT JOIN crm_lead_score score ON score.id = lead.score_line_id
                 LEFT JOIN crm_lead_class_rel rel ON rel.lead_id = lead.id
                 LEFT JOIN crm_lead_class lead_class ON lead_class.id = rel.class_id
                CROSS JOIN LATERAL (VALUES ('class', lead_class.complete_name::varchar)) AS d(dimension, value)
                WHERE %(where)s""",
            common=common, values=values, where=where)
