from odoo import api, fields, models
from odoo.tools import SQL
from odoo.tools.sql import column_exists, create_column

from ..writes import crm_lead as crm_lead_writes

COMPLETENESS_PARAM = 'lead_intelligence.completeness_fields'
# the lead fields an administrator may expect filled in, and those expected until one chooses
COMPLETENESS_CANDIDATES = (
    'email_from', 'phone', 'partner_name', 'contact_name', 'function', 'website', 'industry_id', 'company_size',
    'employee_count', 'annual_revenue', 'country_id', 'state_id', 'city', 'street', 'zip', 'lang_id',
)
COMPLETENESS_DEFAULT = ('email_from', 'phone', 'partner_name', 'function', 'industry_id', 'company_size', 'country_id')
# the types whose empty value is 0 rather than NULL or an empty text
NUMERIC_TYPES = ('integer', 'float', 'monetary')


def completeness_percent(filled, expected):
    """The percentage of ``expected`` fields ``filled``, rounded half up, as the SQL of
    :meth:`CrmLead._profile_completeness_sql` rounds it."""
    return (200 * filled + expected) // (2 * expected)


class CrmLead(models.Model):
    _inherit = 'crm.lead'

    profile_completeness = fields.Integer(
        compute='_compute_profile_completeness', store=True, aggregator='avg',
        help="0-100: the share of the profile fields expected in the CRM settings that the lead has filled in.")

    def _auto_init(self):
        # a new column filled in by one UPDATE, not by the ORM's recompute of every lead
        if not column_exists(self.env.cr, self._table, 'profile_completeness'):
            create_column(self.env.cr, self._table, 'profile_completeness', 'int4')
            expected = [name for name in self._get_completeness_fields()
                        if column_exists(self.env.cr, self._table, name)]
            crm_lead_writes.set_profile_completeness(
                self.env, self._profile_completeness_sql(expected, len(self._get_completeness_fields())))
        return super()._auto_init()

    @api.depends(*COMPLETENESS_CANDIDATES)
    def _compute_profile_completeness(self):
        expected = self._get_completeness_fields()
        for lead in self:
            lead.profile_completeness = completeness_percent(sum(bool(lead[name]) for name in expected), len(expected))

    @api.model
    def _get_completeness_fields(self):
        """The fields the profile completeness counts, as set in the CRM settings (the default ones
        when none of those set can be counted)."""
        # sudo: every user whose lead is saved reads this global parameter
        raw = self.env['ir.config_parameter'].sudo().get_param(COMPLETENESS_PARAM)
        names = [name for name in (raw or '').split(',') if name in COMPLETENESS_CANDIDATES]
        return names or list(COMPLETENESS_DEFAULT)

    @api.model
    def _profile_completeness_sql(self, names, expected=None):
        """The SQL expression of a lead's profile completeness over the fields ``names``.

        :param expected: the number of fields expected, if more than ``names`` (those not in
            the table yet count as empty)
        """
        filled = [
            SQL('(COALESCE(%s, 0) <> 0)::int', SQL.identifier(self._table, name))
            if self._fields[name].type in NUMERIC_TYPES else
            SQL('(%s IS NOT NULL)::int', SQL.identifier(self._table, name))
            if self._fields[name].type == 'many2one' else
            SQL("(COALESCE(%s::text, '') <> '')::int", SQL.identifier(self._table, name))
            for name in names
        ] or [SQL('0')]
        expected = expected or len(names)
        return SQL('(200 * (%s) + %s) / %s', SQL(' + ').join(filled), expected, 2 * expected)

    @api.model
    def _recompute_profile_completeness(self, lead_ids=None):
        """Recompute the profile completeness of the leads ``lead_ids`` (every lead when None) in one
        UPDATE, written only where it changed."""
        self.flush_model()  # the values computed meanwhile go first, not over the UPDATE's
        crm_lead_writes.set_profile_completeness(
            self.env, self._profile_completeness_sql(self._get_completeness_fields()), lead_ids)
        self.invalidate_model(['profile_completeness'])

    @api.model
    def _on_pass_changes(self, changes):
        """The passes write the industry and the company size by SQL: the completeness of the leads
        whose expected fields they changed follows, before the fit rules read it."""
        expected = set(self._get_completeness_fields())
        if len(changes) and expected & set(changes.field.tolist()):
            moved = changes.lead_id[[field in expected for field in changes.field.tolist()]]
            self._recompute_profile_completeness(sorted(set(moved.tolist())))
        return super()._on_pass_changes(changes)
