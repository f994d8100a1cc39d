import numpy as np

from odoo import api, models
from odoo.tools import SQL

from ...engine import tuning
from .. import bulk
from ..writes.crm_lead_engagement import decayed_units_sql


class CrmLead(models.Model):
    """The closed leads tuning learns from, read a chunk at a time."""

    _inherit = 'crm.lead'

    @api.model
    def _read_closed_leads(self, condition, rules, type_ids, limit):
        """The newest ``limit`` closed leads of ``condition`` (by closing) as tuning reads them, a chunk
        at a time.

        :param condition: SQL condition on ``crm_lead``
        :param rules: the fit rules to match, in the order of the matches' columns
        :param type_ids: (n_types,) sorted int64 ids of the event types, in the order of the behaviour's columns
        :rtype: engine.tuning.ClosedLeads
        """
        self.env.flush_all()
        # the rule queries are wide CASE lists: JIT costs more than it saves (see _score_query)
        self.env.cr.execute('SET LOCAL jit = off')
        ids = sorted(lead_id for (lead_id,) in self.env.execute_query(SQL(
            """SELECT id FROM crm_lead WHERE %s
                ORDER BY COALESCE(crm_lead.date_closed, crm_lead.write_date) DESC, id DESC LIMIT %s""",
            condition, limit)))
        size = bulk.chunk_size(self.env)
        parts = [self._read_closed_chunk(ids[start:start + size], rules, type_ids)
                 for start in range(0, len(ids), size)]
        return tuning.ClosedLeads.concatenate(parts, len(rules), len(type_ids))

    @api.model
    def _read_closed_histogram(self, condition):
        """Every closed lead of ``condition`` by score and outcome, in one grouped query.

        :return: (:class:`engine.tuning.ScoreHistogram` of the scored ones, closed leads, won leads)
        """
        self.env.flush_all()
        rows = self.env.execute_query(SQL(
            """SELECT COALESCE(s.score, -1), crm_lead.won_status = 'won', count(*),
                      COALESCE(sum(crm_lead.expected_revenue), 0)::float8
                 FROM crm_lead
                 LEFT JOIN crm_lead_score s ON s.id = crm_lead.score_line_id
                WHERE %s
                GROUP BY 1, 2""", condition))
        score, won, leads, revenue = np.array(rows, dtype=np.float64).reshape(len(rows), 4).T
        won = won.astype(bool)
        histogram = tuning.ScoreHistogram.from_groups(score.astype(np.int64), won, leads, revenue)
        return histogram, int(leads.sum()), int(leads[won].sum())

    @api.model
    def _read_closed_chunk(self, ids, rules, type_ids):
        """Outcome, score, revenue and rule matches of the closed leads ``ids`` (sorted) in one query,
        their behaviour at closing in another.

        :rtype: engine.tuning.ClosedLeads
        """
        query = self._query_leads(ids)
        line = query.left_join('crm_lead', 'score_line_id', 'crm_lead_score', 'id', 'score_line_id')
        data, matches = rules._read_matches(query, [
            SQL("(crm_lead.won_status = 'won')::int"),
            SQL('COALESCE(%s, -1)', SQL.identifier(line, 'score')),
            SQL('round(COALESCE(crm_lead.expected_revenue, 0))::bigint'),
        ])
        return tuning.ClosedLeads(won=data[:, 0].astype(bool), matches=matches,
                                  behaviour=self._behaviour_units_at_closing(np.array(ids), type_ids),
                                  score=data[:, 1], revenue=data[:, 2].astype(np.float64))

    @api.model
    def _behaviour_units_at_closing(self, ids, type_ids):
        """(n, n_types) the units of each event type the closed leads ``ids`` (sorted) had when they
        closed, each event decayed to the closing with its type's half-life (as their engagement was
        then); the events after the closing are left out. One query, each lead's events found by
        the log's (lead, date) index up to its closing.
        """
        rows = self.env.execute_query(SQL(
            """SELECT e.lead_id, e.type_id, sum(%(units)s)::float8
                 FROM crm_lead
                 CROSS JOIN LATERAL (SELECT COALESCE(crm_lead.date_closed, crm_lead.write_date) AS at) AS closing
                 JOIN crm_lead_event e ON e.lead_id = crm_lead.id AND e.occurred_at <= closing.at
                 JOIN crm_lead_event_type t ON t.id = e.type_id
                WHERE crm_lead.id = ANY(%(ids)s) AND e.type_id = ANY(%(types)s) AND e.filter_reason IS NULL
                  AND NOT EXISTS (SELECT 1 FROM crm_lead_event_queue q WHERE q.event_id = e.id)
                GROUP BY e.lead_id, e.type_id""",
            units=decayed_units_sql('e', 't', SQL('closing.at')), ids=ids.tolist(), types=type_ids.tolist()))
        behaviour = np.zeros((len(ids), len(type_ids)))
        if rows:
            lead_ids, row_type_ids, units = (np.array(column) for column in zip(*rows, strict=True))
            behaviour[np.searchsorted(ids, lead_ids), np.searchsorted(type_ids, row_type_ids)] = units
        return behaviour
