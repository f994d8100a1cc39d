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
    def _read_closed_leads(self, condition, rules, type_ids):
        """The closed leads of ``condition`` as tuning reads them, a chunk of ids at a time.

        :param condition: SQL condition on ``crm_lead``
        :param rules: the fit rules to match, in the order of the matches' columns
        :param type_ids: (n_types,) sorted int64 ids of the event types, in the order of the behaviour's columns
        :rtype: engine.tuning.ClosedLeads
        """
        self.env.flush_all()
        # the rule queries are wide CASE lists: JIT costs more than it saves (see _score_query)
        self.env.cr.execute('SET LOCAL jit = off')
        size = bulk.chunk_size(self.env)
        parts, last_id = [], 0
        while ids := [lead_id for (lead_id,) in self.env.execute_query(SQL(
                'SELECT id FROM crm_lead WHERE %s AND id > %s ORDER BY id LIMIT %s', condition, last_id, size))]:
            parts.append(self._read_closed_chunk(ids, rules, type_ids))
            last_id = ids[-1]
        return tuning.ClosedLeads.concatenate(parts, len(rules), len(type_ids))

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
        then); the events after the closing are left out. One query over the event log.
        """
        rows = self.env.execute_query(SQL(
            """SELECT e.lead_id, e.type_id, sum(%(units)s)::float8
                 FROM crm_lead_event e
                 JOIN crm_lead ON crm_lead.id = e.lead_id
                 CROSS JOIN LATERAL (SELECT COALESCE(crm_lead.date_closed, crm_lead.write_date) AS at) AS closing
                 JOIN crm_lead_event_type t ON t.id = e.type_id
                WHERE e.lead_id = ANY(%(ids)s) AND e.type_id = ANY(%(types)s) AND e.filter_reason IS NULL
                  AND e.occurred_at <= closing.at
                  AND NOT EXISTS (SELECT 1 FROM crm_lead_event_queue q WHERE q.event_id = e.id)
                GROUP BY e.lead_id, e.type_id""",
            units=decayed_units_sql('e', 't', SQL('closing.at')), ids=ids.tolist(), types=type_ids.tolist()))
        behaviour = np.zeros((len(ids), len(type_ids)))
        if rows:
            lead_ids, row_type_ids, units = (np.array(column) for column in zip(*rows, strict=True))
            behaviour[np.searchsorted(ids, lead_ids), np.searchsorted(type_ids, row_type_ids)] = units
        return behaviour
