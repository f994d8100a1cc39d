from odoo import fields, models
from odoo.exceptions import UserError

from ...engine import tuning


class CrmLeadTuningTier(models.Model):
    """A tier's cut-off in a tuning: its target, and its figures on the period's closed leads with
    the current and the proposed cut-offs."""

    _name = 'crm.lead.tuning.tier'
    _description = 'Lead Scoring Tuning Tier'
    _order = 'tuning_id, sequence, id'

    tuning_id = fields.Many2one('crm.lead.tuning', required=True, ondelete='cascade', index=True)
    tier_id = fields.Many2one('crm.lead.tier', required=True, ondelete='cascade')
    sequence = fields.Integer(help="Rank of the tier, best first.")
    selected = fields.Boolean(help="Apply Selected applies the proposed cut-offs of every tier when one is selected: "
                                   "they only make sense together.")
    target_share = fields.Float(
        digits=(16, 4), help="Share of the closed leads the tier should hold (the last tier takes the rest).")
    target_conversion = fields.Float(
        'Minimum Conversion', digits=(16, 4), help="Conversion the tier's leads should reach at least.")
    current_min_score = fields.Integer('Current Minimum')
    current_share = fields.Float(digits=(16, 4))
    current_conversion = fields.Float(digits=(16, 4))
    current_won_revenue = fields.Float(digits=(16, 0))
    proposed_min_score = fields.Integer('Proposed Minimum')
    proposed_share = fields.Float(digits=(16, 4))
    proposed_conversion = fields.Float(digits=(16, 4))
    proposed_won_revenue = fields.Float(digits=(16, 0))
    target_met = fields.Boolean(
        default=True, help="Unchecked: no cut-off gives the tier the minimum conversion asked; it keeps one score.")

    def _write_backtests(self, current, proposed, cutoffs, met):
        """Store the backtests of the lines ``self`` (one tier set, best first).

        :param current, proposed: :class:`engine.tuning.TierBacktest` of the current and proposed cut-offs
        :param cutoffs: (k,) the proposed cut-offs; ``met``: (k,) bool
        """
        for index, line in enumerate(self):
            line.write({
                'current_share': float(current.share[index]),
                'current_conversion': float(current.conversion[index]),
                'current_won_revenue': float(current.won_revenue[index]),
                'proposed_min_score': int(cutoffs[index]),
                'proposed_share': float(proposed.share[index]),
                'proposed_conversion': float(proposed.conversion[index]),
                'proposed_won_revenue': float(proposed.won_revenue[index]),
                'target_met': bool(met[index]),
            })

    def _apply(self):
        """Write the proposed minimums on the tiers ``self`` (one tier set, best first), those that rise
        top down, then those that fall bottom up, so that the tiers stay in order after each write.

        :return: the values of the history lines recording the changes
        """
        if not self:
            return []
        tiers = self.mapped('tier_id')
        if tiers != self[:1].tuning_id._get_tiers():
            raise UserError(self.env._('The tiers changed since the tuning was computed: compute it again.'))
        try:
            tuning.check_cutoffs(self.mapped('proposed_min_score'))
        except ValueError as error:
            raise UserError(self.env._('The proposed cut-offs are not in order: propose them again.')) from error
        changed = self.filtered(lambda line: line.proposed_min_score != line.tier_id.min_score)
        rising = changed.filtered(lambda line: line.proposed_min_score > line.tier_id.min_score)
        history = []
        for line in rising + (changed - rising)[::-1]:
            old = line.tier_id.min_score
            line.tier_id.min_score = line.proposed_min_score
            history.append({
                'tier_id': line.tier_id.id,
                'name': line.tier_id.display_name,
                'old_value': old,
                'new_value': line.proposed_min_score,
                'reason': line._describe(),
            })
        return history

    def _describe(self):
        """Why the tier's cut-off was proposed, in a sentence."""
        self.ensure_one()
        run = self.tuning_id
        target = (self.env._('target share %s %%', round(100 * self.target_share, 1)) if run.threshold_mode == 'share'
                  else self.env._('minimum conversion %s %%', round(100 * self.target_conversion, 1)))
        return self.env._(
            "For a %(target)s: on the period's closed leads, %(share)s %% of the leads converting at "
            '%(conversion)s %% for a won revenue of %(revenue)s (with the cut-off before: %(old_share)s %%, '
            '%(old_conversion)s %%, %(old_revenue)s).', target=target,
            share=round(100 * self.proposed_share, 1), conversion=round(100 * self.proposed_conversion, 1),
            revenue=round(self.proposed_won_revenue), old_share=round(100 * self.current_share, 1),
            old_conversion=round(100 * self.current_conversion, 1), old_revenue=round(self.current_won_revenue))
