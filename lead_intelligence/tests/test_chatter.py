from odoo.tests import Form, tagged, users

from .common import TestLeadIntelligenceCommon


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestChatter(TestLeadIntelligenceCommon):
    """What the passes change by SQL shows once in the chatter, beside Odoo's own tracking of the same save."""

    def _tracking_values(self, lead, field_name):
        """The chatter's tracking values of ``field_name`` on ``lead``, once Odoo's tracking has run (at commit)."""
        self.env.flush_all()
        self.env.cr.flush()  # runs the pre-commit hooks, where Odoo's tracking logs its changes
        # sudo: mail.tracking.value is readable by administrators only
        return self.env['mail.tracking.value'].sudo().search([
            ('mail_message_id.model', '=', 'crm.lead'), ('mail_message_id.res_id', '=', lead.id),
            ('field_id', '=', self.env['ir.model.fields']._get('crm.lead', field_name).id),
        ])

    def _create_scored_lead(self, **values):
        """A lead saved (and scored) in an earlier transaction: its tracking is done."""
        lead = self.env['crm.lead'].with_context(lead_intelligence_score_now=True).create({
            'name': 'Lead', 'team_id': self.sales_team_1.id, 'user_id': self.env.user.id, **values})
        self.env.flush_all()
        self.env.cr.flush()
        return lead.with_context(lead_intelligence_score_now=False)  # as the form has it: web_save decides

    def _changes(self, tracking_values):
        return sorted(tracking_values.mapped(lambda value: (value.old_value_char, value.new_value_char)))

    @users('user_sales_salesman')
    def test_form_save_logs_each_change_once(self):
        lead = self._create_scored_lead(type='opportunity')
        self.assertEqual((lead.tier_id, lead.job_level), (self.tier_d, False))
        with Form(lead) as form:  # scored on save (the default setting)
            form.function = 'CEO'
            form.expected_revenue = 90000
            form.phone = '+1 555 0100'
        self.assertEqual((lead.score, lead.tier_id, lead.job_level), (80, self.tier_a, 'decision_maker'))
        self.assertEqual(self._changes(self._tracking_values(lead, 'tier_id')), [('', 'Cold'), ('Cold', 'Hot')],
                         'the first tier at creation, then one line for the move')
        self.assertEqual(self._changes(self._tracking_values(lead, 'job_level')), [('', 'Decision Maker')])
        self.assertEqual(len(self._tracking_values(lead, 'expected_revenue')), 1, "Odoo's own tracking of the save")

    @users('user_sales_salesman')
    def test_form_save_handing_a_field_back_to_the_rules_logs_the_net_change(self):
        """A job level set by hand is cleared: the rules set theirs, one line from the value before the save."""
        lead = self._create_scored_lead(function='CEO', job_level='staff')
        with Form(lead) as form:
            form.job_level = False
        self.assertEqual(lead.job_level, 'decision_maker')
        self.assertEqual(self._changes(self._tracking_values(lead, 'job_level')), [('Staff', 'Decision Maker')])
