from odoo import fields, models
from odoo.tools import SQL


class CrmLeadScoreHistory(models.Model):
    """The history as a user reads it: a lead's first score came from none, and the graph
    plots scores."""

    _inherit = 'crm.lead.score.history'

    new_score = fields.Integer(aggregator='avg')
    old_score_display = fields.Char('Old Score', compute='_compute_old_score_display')

    # the score trend reads each lead's score at a date, its chart the lead's last rows
    _lead_date_idx = models.Index('(lead_id, date)')

    def _compute_old_score_display(self):
        # the ORM reads an empty integer as 0: which rows have none is asked of the table
        first = {row[0] for row in self.env.execute_query(SQL(
            'SELECT id FROM crm_lead_score_history WHERE id = ANY(%s) AND old_score IS NULL', self.ids))}
        for row in self:
            row.old_score_display = self.env._('none') if row.id in first else str(row.old_score)
