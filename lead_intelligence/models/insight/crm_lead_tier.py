from odoo import api, fields, models


class CrmLeadTier(models.Model):
    """The tiers' part in what a salesperson sees: the alert on entering a tier, and the
    search filters generated from the tiers."""

    _inherit = 'crm.lead.tier'

    notify = fields.Boolean(
        'Alert the Salesperson',
        help="A lead entering this tier alerts its salesperson (or its team leader when it has none) with a "
             "notification and an activity. Leads entering the top tier always do.")

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        tiers = super().create(vals_list)
        self._clear_tier_filters()
        return tiers

    def write(self, vals):
        res = super().write(vals)
        if {'name', 'min_score', 'sequence', 'active', 'company_id'} & set(vals):
            self._clear_tier_filters()
        return res

    def unlink(self):
        res = super().unlink()
        self._clear_tier_filters()
        return res

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    @api.model
    def _clear_tier_filters(self):
        """The leads' search views carry one filter per tier (see ``crm.lead._get_view``): drop the
        cached views, so that they follow the tiers' names and thresholds."""
        self.env.registry.clear_cache('templates')

    @api.model
    def _get_alert_tiers(self):
        """The tiers whose entry alerts the salesperson: the top tier of each tier set and the
        tiers flagged ``notify``.

        :return: a set of tier ids
        """
        # sudo: the tier sets of every company, as the pass cuts scores with them
        default, by_company = self.sudo()._get_tier_sets()
        top = {ids[thresholds.index(max(thresholds))]
               for thresholds, ids in (default, *by_company.values()) if ids}
        # sudo: the tiers of every company, as the pass reads them
        return top | set(self.sudo().search([('notify', '=', True)]).ids)
