from odoo import fields, models

from ..classification.dimensions import JOB_LEVELS

# the buying roles an account's engaged leads may hold, in the order they are named
BUYING_ROLES = ('decision_maker', 'technical', 'procurement')


class ResPartner(models.Model):
    """The account: a company (a commercial entity), scored from its open leads.

    Written by the account roll-up only (``writes/res_partner.py``, called by the scoring
    passes): the best open lead's score, plus points for each buying role among its leads
    engaged lately (decision maker, technical lead, procurement), capped at 100, cut by the
    tiers of the account's company (the default ones without). A partner shared by several
    companies is scored from the open leads of all of them.
    """

    _inherit = 'res.partner'

    account_score = fields.Integer(
        readonly=True, copy=False,
        help="The best score among this company's open leads, plus points for each buying role (decision maker, "
             "technical lead, procurement) among its leads engaged lately; 100 at most. Empty: no open lead.")
    account_tier_id = fields.Many2one('crm.lead.tier', readonly=True, copy=False)
    account_roles = fields.Char(
        'Engaged Buying Roles (Codes)', readonly=True, copy=False,
        help="The job levels of the buying roles engaged lately, as codes separated by commas.")
    account_role_count = fields.Integer('Engaged Buying Roles', readonly=True, copy=False)
    account_open_lead_count = fields.Integer('Open Leads of the Account', readonly=True, copy=False)
    account_summary = fields.Char('Engaged at this Account', compute='_compute_account_summary')
    account_history_ids = fields.One2many('crm.lead.account.history', 'partner_id', 'Account Score History')

    def _compute_account_summary(self):
        for partner in self:
            partner.account_summary = partner._account_summary_text()

    def _account_summary_text(self):
        """"3 people at this account engaged: decision maker, technical lead, procurement", in the
        user's language; empty when nobody is engaged."""
        self.ensure_one()
        roles = [code for code in (self.account_roles or '').split(',') if code]
        if not roles:
            return False
        labels = dict(self.env['crm.lead']._fields['job_level']._description_selection(self.env))
        names = ', '.join(labels.get(code, code) for code in roles)
        if len(roles) == 1:
            return self.env._('1 person at this account engaged: %(roles)s', roles=names)
        return self.env._('%(count)s people at this account engaged: %(roles)s', count=len(roles), roles=names)


def role_codes():
    """The job level codes of the buying roles (checked against the job levels at import)."""
    assert set(BUYING_ROLES) <= {code for code, _label in JOB_LEVELS}
    return list(BUYING_ROLES)
