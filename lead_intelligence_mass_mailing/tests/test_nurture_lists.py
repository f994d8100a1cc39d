from odoo import Command
from odoo.tests import tagged

from odoo.addons.lead_intelligence.tests.common import TestLeadIntelligenceCommon


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestNurtureLists(TestLeadIntelligenceCommon):
    """Mailing-list memberships that follow the leads' nurtured tier and classification values."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        MailingList = cls.env['mailing.list']
        cls.nurture_list = MailingList.create({'name': 'Nurture: cold leads'})
        cls.mql_list = MailingList.create({'name': 'Nurture: MQL'})
        cls.tier_d.write({'nurture': True, 'nurture_mailing_list_id': cls.nurture_list.id})

    def _score(self, leads):
        self.env['crm.lead']._score_leads(leads.ids, 'manual')
        self.env.invalidate_all()
        return leads

    def _members(self, mailing_list):
        """{email: (added for nurture, opted out)} of the list's subscriptions."""
        self.env.invalidate_all()
        subscriptions = self.env['mailing.subscription'].search([('list_id', '=', mailing_list.id)])
        return {sub.contact_id.email_normalized: (sub.lead_intelligence_nurture, sub.opt_out) for sub in subscriptions
                if sub.contact_id.email_normalized.endswith('@nurture.example')}  # crm's fixtures are cold leads too

    def test_membership_follows_the_tier_in_the_pass(self):
        cold, warm = self._score(self._create_lead(email_from='Cora Cold <cora@nurture.example>', contact_name='Cora')
                                 | self._create_lead(email_from='wanda@nurture.example', expected_revenue=60000,
                                                     function='CEO'))
        self.assertEqual((cold.tier_id, warm.tier_id), (self.tier_d, self.tier_b))
        self.assertEqual(self._members(self.nurture_list), {'cora@nurture.example': (True, False)})
        contact = self.env['mailing.contact'].search([('email_normalized', '=', 'cora@nurture.example')])
        self.assertEqual((len(contact), contact.name), (1, 'Cora'))

        cold.expected_revenue = 60000  # tier C: leaves the nurtured tier
        self._score(cold)
        self.assertEqual(cold.tier_id, self.tier_c)
        self.assertEqual(self._members(self.nurture_list), {})
        self.assertTrue(contact.exists(), "the contact stays, only its subscription goes")
        cold.expected_revenue = 0  # back to tier D: the same contact again
        self._score(cold)
        self.assertEqual(self._members(self.nurture_list), {'cora@nurture.example': (True, False)})
        same = self.env['mailing.contact'].search([('email_normalized', '=', 'cora@nurture.example')])
        self.assertEqual(same, contact, "the contact is reused, not created again")

    def test_subscriptions_made_otherwise_and_opt_outs_are_kept(self):
        Contact = self.env['mailing.contact']
        Contact.create({'name': 'Manual', 'email': 'manual@nurture.example',
                        'subscription_ids': [Command.create({'list_id': self.nurture_list.id})]})
        Contact.create({'name': 'Opted out', 'email': 'optout@nurture.example',
                        'subscription_ids': [Command.create({'list_id': self.nurture_list.id, 'opt_out': True})]})
        leads = self._score(self._create_lead(email_from='manual@nurture.example')
                            | self._create_lead(email_from='optout@nurture.example')
                            | self._create_lead(email_from='shared@nurture.example')
                            | self._create_lead(email_from='SHARED@nurture.example'))
        self.assertEqual(leads.tier_id, self.tier_d)
        self.assertEqual(self._members(self.nurture_list), {
            'manual@nurture.example': (False, False), 'optout@nurture.example': (False, True),
            'shared@nurture.example': (True, False)})

        leads[:3].write({'expected_revenue': 60000})  # all but one lead of shared@ leave tier D
        self._score(leads)
        self.assertEqual(self._members(self.nurture_list), {
            'manual@nurture.example': (False, False), 'optout@nurture.example': (False, True),
            'shared@nurture.example': (True, False)}, "another lead of shared@ is still nurtured")
        leads[3].expected_revenue = 60000
        self._score(leads)
        self.assertEqual(self._members(self.nurture_list), {
            'manual@nurture.example': (False, False), 'optout@nurture.example': (False, True)})

    def test_membership_follows_a_classification_value(self):
        self.env['crm.lead.nurture.list'].create({
            'dimension_value': 'lifecycle_stage:mql', 'mailing_list_id': self.mql_list.id})
        lead = self._score(self._create_lead(type='lead', email_from='mia@nurture.example', phone='+32 2 555 01 01'))
        self.assertEqual((lead.score, lead.lifecycle_stage), (10, 'cold'))
        self.assertEqual(self._members(self.mql_list), {})
        # the score moves behind the ORM: the pass's classification makes the lead an MQL
        self.env.cr.execute('UPDATE crm_lead_fit_rule SET points = 60 WHERE id = %s', [self.rule_phone.id])
        self.env.invalidate_all()
        self._score(lead)
        self.assertEqual(lead.lifecycle_stage, 'mql')
        self.assertEqual(self._members(self.mql_list), {'mia@nurture.example': (True, False)})
        self.env.cr.execute('UPDATE crm_lead_fit_rule SET points = 10 WHERE id = %s', [self.rule_phone.id])
        self.env.invalidate_all()
        self._score(lead)
        self.assertEqual(lead.lifecycle_stage, 'cold')
        self.assertEqual(self._members(self.mql_list), {})

        lead.lifecycle_stage = 'mql'  # set by hand
        self.assertEqual(self._members(self.mql_list), {'mia@nurture.example': (True, False)})
        lead.action_archive()  # an archived lead nurtures no more
        self.assertEqual(self._members(self.mql_list), {})

    def test_configuration_changes_update_the_members(self):
        lead = self._score(self._create_lead(type='lead', email_from='late@nurture.example'))
        self.assertEqual(self._members(self.nurture_list), {'late@nurture.example': (True, False)})
        self.tier_d.nurture_mailing_list_id = self.mql_list
        self.assertEqual((self._members(self.nurture_list), self._members(self.mql_list)),
                         ({}, {'late@nurture.example': (True, False)}))
        self.tier_d.nurture = False
        self.assertEqual(self._members(self.mql_list), {})
        rule = self.env['crm.lead.nurture.list'].create({
            'dimension_value': 'lifecycle_stage:cold', 'mailing_list_id': self.nurture_list.id})
        self.assertEqual(lead.lifecycle_stage, 'cold')
        self.assertEqual(self._members(self.nurture_list), {'late@nurture.example': (True, False)})
        rule.action_archive()
        self.assertEqual(self._members(self.nurture_list), {})

    def test_memberships_follow_in_bulk(self):
        """The pass subscribes and unsubscribes 30 contacts with the queries of 3."""
        def pass_queries(count, prefix):
            leads = self._score(self.env['crm.lead'].create([
                {'name': f'{prefix} {index}', 'email_from': f'{prefix}{index}@nurture.example',
                 'expected_revenue': 60000} for index in range(count)]))
            self.assertEqual(leads.tier_id, self.tier_c)
            queries = []
            for points in (0, 40):  # into tier D, then out of it
                self.env.cr.execute('UPDATE crm_lead_fit_rule SET points = %s WHERE id = %s',
                                    [points, self.rule_revenue.id])
                self.env.invalidate_all()
                before = self.env.cr.sql_log_count
                self.env['crm.lead']._score_leads(leads.ids, 'manual')
                self.env.flush_all()
                queries.append(self.env.cr.sql_log_count - before)
                self.assertEqual(len(self._members(self.nurture_list)), count if not points else 0)
            return queries

        pass_queries(1, 'warm')  # the first pass fills the caches
        small = pass_queries(3, 'small')
        self.assertEqual(pass_queries(30, 'large'), small)
