import numpy as np

from odoo import api, fields, models

from ...engine import tuning

CONFIDENCE = [('high', 'High'), ('medium', 'Medium'), ('low', 'Low')]


class CrmLeadTuningLine(models.Model):
    """What a fit rule or an event type was worth on the closed leads of a tuning, and the points suggested."""

    _name = 'crm.lead.tuning.line'
    _description = 'Lead Scoring Tuning Suggestion'
    _order = 'tuning_id, kind, sequence, id'

    tuning_id = fields.Many2one('crm.lead.tuning', required=True, ondelete='cascade', index=True)
    kind = fields.Selection([('rule', 'Profile-fit rule'), ('event_type', 'Event type')], required=True)
    sequence = fields.Integer()
    fit_rule_id = fields.Many2one('crm.lead.fit.rule', 'Rule', ondelete='cascade')
    event_type_id = fields.Many2one('crm.lead.event.type', ondelete='cascade')
    name = fields.Char(compute='_compute_name')
    selected = fields.Boolean(help="Applied by Apply Selected.")
    # What the closed leads of the period say
    leads_matched = fields.Integer(
        'Leads', help="Closed leads of the period the rule matched, or that had events of the type.")
    won_count = fields.Integer('Won')
    conversion = fields.Float(digits=(16, 4), help="Won over closed, among those leads.")
    base_rate = fields.Float(related='tuning_id.base_rate')
    lift = fields.Float(digits=(16, 2), help="Their conversion over the base conversion: above 1, they convert better.")
    flag = fields.Selection(
        [('never', 'Never matched'), ('below_base', 'Converts below base')],
        help="Never matched: no closed lead of the period matched the rule or had the event; its points are "
             "kept. Converts below base: its leads convert less often than the closed leads overall.")
    # What to make of it
    current_points = fields.Float(digits=(16, 2))
    suggested_points = fields.Float(
        digits=(16, 2),
        help="From a regularised logistic regression of won / lost on every rule match and the behaviour at "
             "closing, in points of the current ranges: the fit points from floor to ceiling, the engagement "
             "points that make 100, taken as a chance of winning from 5 % to 95 % (per event, or per minute, "
             "for an event type).")
    margin = fields.Float(
        'Margin (±)', digits=(16, 2),
        help="Half the width of the 95 % interval of the suggested points: the fewer or the more alike the "
             "leads behind it, the wider.")
    confidence = fields.Selection(CONFIDENCE, help="High: a narrow margin against the points range, and at least "
                                                   "30 leads behind the suggestion; low: a wide one, or fewer leads.")
    applied = fields.Boolean(readonly=True, copy=False)

    @api.depends('fit_rule_id', 'event_type_id')
    def _compute_name(self):
        for line in self:
            line.name = (line.fit_rule_id or line.event_type_id).display_name

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    @api.model
    def _prepare_lines(self, kind, records, won, indicators, suggestion):
        """Values of the lines of ``records`` (fit rules or event types).

        :param won: (n,) bool; ``indicators``: (n, len(records)) bool, the leads matched
        :param suggestion: the :class:`engine.tuning.Suggestion` of ``records``
        """
        stats = tuning.indicator_stats(won, indicators)
        current = np.array(records.mapped('points'), dtype=np.float64)
        # a rule's points are whole numbers; an event type's, hundredths
        points = np.round(suggestion.points, 0 if kind == 'rule' else 2)
        points_range = max(np.abs(current).max(initial=0), np.abs(points).max(initial=0))
        confidence = tuning.confidence(suggestion, stats.matched, points_range)
        field = 'fit_rule_id' if kind == 'rule' else 'event_type_id'
        return [{
            'kind': kind,
            'sequence': index,
            field: record.id,
            'leads_matched': int(stats.matched[index]),
            'won_count': int(stats.won[index]),
            'conversion': float(stats.conversion[index]),
            'lift': float(stats.lift[index]),
            'flag': 'never' if stats.never[index] else 'below_base' if stats.below_base[index] else False,
            'current_points': float(current[index]),
            'suggested_points': float(points[index]),
            'margin': float(suggestion.margin[index]) if np.isfinite(suggestion.margin[index]) else 0.0,
            'confidence': str(confidence[index]),
        } for index, record in enumerate(records)]

    def _apply(self):
        """Write the suggested points on the line's rule or event type, unless they are its points already.

        :return: the values of the history line recording the change, or None
        """
        self.ensure_one()
        target = self.fit_rule_id or self.event_type_id
        old = target.points
        if self.applied or self.flag == 'never' or old == self.suggested_points:
            return None
        new = int(self.suggested_points) if self.kind == 'rule' else self.suggested_points
        target.points = new
        self.applied = True
        return {
            'fit_rule_id': self.fit_rule_id.id,
            'event_type_id': self.event_type_id.id,
            'name': target.display_name,
            'old_value': old,
            'new_value': new,
            'reason': self._describe(),
        }

    def _describe(self):
        """Why the line's points were suggested, in a sentence."""
        self.ensure_one()
        return self.env._(
            '%(leads)s closed leads of the period (%(won)s won) convert at %(conversion)s %% against %(base)s %% '
            'overall (lift %(lift)s); suggested %(points)s ± %(margin)s points, confidence %(confidence)s.',
            leads=self.leads_matched, won=self.won_count, conversion=round(100 * self.conversion, 1),
            base=round(100 * self.base_rate, 1), lift=round(self.lift, 2), points=self.suggested_points,
            margin=round(self.margin, 1),
            confidence=dict(self._fields['confidence']._description_selection(self.env))[self.confidence])
