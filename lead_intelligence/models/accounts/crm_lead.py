from odoo import api, fields, models
from odoo.tools import sql

from ..writes import res_partner as account_writes


class CrmLead(models.Model):
    """The lead's account: its commercial partner's score, read through the contact, and its tier,
    kept on the lead (where it differs from the account's) so that leads group by it; both are
    read by rules and routing, and refreshed by the passes (:meth:`_refresh_account_scores`)."""

    _inherit = 'crm.lead'

    # read through the contact, not copied on every lead: an account's score moves whenever one of
    # its leads' does, and rewriting all its leads' wide rows each time cost the nightly pass more
    # than all of its scoring (1M leads, every score moving: 33 s of 77 s)
    account_score = fields.Integer(
        related='partner_id.commercial_partner_id.account_score', system_owned=True,
        help="The score of the lead's company (its contact's commercial entity), from all its open leads.")
    account_tier_id = fields.Many2one('crm.lead.tier', readonly=True, copy=False, system_owned=True)
    account_summary = fields.Char('Account Engagement', compute='_compute_account_summary')

    def init(self):
        res = super().init()
        # the leads whose contact went but which still hold an account's tier, which each roll-up of
        # every account clears: almost always none, found without reading the whole table (1M leads:
        # 0.35 s of every nightly pass)
        sql.create_index(self.env.cr, 'crm_lead_account_tier_orphan_index', self._table, ['account_tier_id'],
                         where='partner_id IS NULL AND account_tier_id IS NOT NULL')
        return res

    @api.depends('partner_id.commercial_partner_id.account_roles')
    def _compute_account_summary(self):
        for lead in self:
            account = lead.partner_id.commercial_partner_id
            lead.account_summary = account._account_summary_text() if account else False

    def _score_query(self, query, cause, config=None, chunk=None):
        """The pass, then the accounts of its leads rolled up again, outside full passes (which
        roll every account up once they end: :meth:`_rescore_all_leads`)."""
        ids, changed = super()._score_query(query, cause, config, chunk)
        if chunk is None and ids:
            self._refresh_account_scores(ids)
        return ids, changed

    def _rescore_all_leads(self, run):
        res = super()._rescore_all_leads(run)
        if run.state == 'done':
            self._refresh_account_scores()
        return res

    @api.model
    def _refresh_account_scores(self, lead_ids=None):
        """Roll the open leads' scores up to their accounts, and the accounts' scores down to
        their leads, where something changed; the accounts of ``lead_ids`` only, when given.

        :return: the number of accounts whose score, tier or roles changed
        """
        settings = self.env['res.config.settings']._get_lead_intelligence_settings()
        # what the roll-up reads: not flush_all, which would flush the pass's pending activities too
        self.flush_model(['partner_id', 'active', 'won_status', 'job_level', 'last_engagement_date', 'score_line_id',
                          'account_tier_id'])
        self.env['res.partner'].flush_model(['commercial_partner_id', 'company_id'])
        self.env['crm.lead.score'].flush_model(['score'])
        self.env['crm.lead.tier'].flush_model(['active', 'min_score', 'company_id'])
        return account_writes.roll_up_accounts(
            self.env, lead_ids, settings['account_engagement_days'], settings['account_role_points'])
