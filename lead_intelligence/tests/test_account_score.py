from datetime import datetime, timedelta

from odoo.tests import tagged
from odoo.tools import SQL

from .common import TestLeadIntelligenceCommon
from .test_routing import TestRoutingCommon
from odoo.addons.mail.tests.common import mail_new_test_user


def _engage(env, leads, days_ago):
    """Give ``leads`` a last counted event ``days_ago`` days back, as the events pass writes it."""
    env.flush_all()
    env.cr.execute(SQL("UPDATE crm_lead SET last_engagement_date = %s WHERE id = ANY(%s)",
                       datetime.now() - timedelta(days=days_ago), leads.ids))
    env.invalidate_all()


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestAccountScore(TestLeadIntelligenceCommon):
    """The account's score from its open leads: the best score, plus points per buying role engaged."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.account = cls.env['res.partner'].create({'name': 'Acme Account', 'is_company': True})
        cls.cto, cls.buyer, cls.ceo = cls.env['res.partner'].create([
            {'name': name, 'parent_id': cls.account.id} for name in ('Ann CTO', 'Bob Buyer', 'Carl CEO')])

    def _lead(self, contact, score_points=0, **values):
        return self._create_lead(partner_id=contact.id, expected_revenue=60000 if score_points else 0, **values)

    def _roll_up(self, leads=None):
        return self.env['crm.lead']._refresh_account_scores(leads.ids if leads is not None else None)

    def test_score_roles_and_tier(self):
        # one lead with the revenue rule (40 points), three roles, two of them engaged lately
        technical = self._lead(self.cto, score_points=40, job_level='technical')
        buyer = self._lead(self.buyer, job_level='procurement')
        ceo = self._lead(self.ceo, job_level='decision_maker')
        leads = technical | buyer | ceo
        # scoring the leads rolls their account up: nobody engaged yet
        self.env['crm.lead']._score_leads(leads.ids, 'manual')
        self.assertEqual((self.account.account_score, self.account.account_tier_id), (40, self.tier_c))
        _engage(self.env, technical | buyer, days_ago=3)
        _engage(self.env, ceo, days_ago=200)
        self.assertEqual(self._roll_up(), 1)
        self.assertEqual(technical.score, 40)
        # best score 40 + 2 engaged roles x 10
        self.assertEqual((self.account.account_score, self.account.account_role_count,
                          self.account.account_open_lead_count), (60, 2, 3))
        self.assertEqual(self.account.account_tier_id, self.tier_b)
        self.assertEqual(self.account.account_roles, 'technical,procurement')
        self.assertEqual(self.account.account_summary,
                         '2 people at this account engaged: Technical Lead, Procurement')
        # every lead of the account reads it, rules and routing included
        self.assertEqual(set(leads.mapped('account_score')), {60})
        self.assertEqual(leads.account_tier_id, self.tier_b)
        self.assertEqual(ceo.account_summary, self.account.account_summary)
        history = self.account.account_history_ids
        self.assertEqual([(row.old_score, row.new_score, row.new_tier_id, row.role_count) for row in history],
                         [(40, 60, self.tier_b, 2), (0, 40, self.tier_c, 0)])

        # the decision maker engages: a third role, the score and tier move, one more history row
        _engage(self.env, ceo, days_ago=1)
        self.assertEqual(self._roll_up(ceo), 1)
        self.assertEqual((self.account.account_score, self.account.account_tier_id), (70, self.tier_b))
        self.assertEqual(len(self.account.account_history_ids), 3)
        # nothing moved: nothing written
        self.assertEqual(self._roll_up(), 0)
        self.assertEqual(len(self.account.account_history_ids), 3)

    def test_closed_leads_leave_and_a_lead_without_contact_is_cleared(self):
        lead = self._lead(self.cto, score_points=40)
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self._roll_up()
        self.assertEqual(self.account.account_score, 40)
        lead.action_set_lost()
        self._roll_up()
        self.assertFalse(self.account.account_score, 'an account without open leads has no score')
        self.assertFalse(self.account.account_tier_id)
        other = self._lead(self.buyer)
        self.env['crm.lead']._score_leads(other.ids, 'manual')
        self.assertEqual(other.account_score, 0, 'the pass rolled its account up')
        other.partner_id = False
        self._roll_up()
        self.assertFalse(other.account_tier_id)

    def test_the_pass_rolls_the_accounts_of_its_leads_up(self):
        lead = self._lead(self.cto, score_points=40)
        other = self._lead(self.buyer)
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.assertEqual((self.account.account_score, lead.account_score, other.account_score), (40, 40, 40),
                         "the pass rolled the lead's account up, down to its other leads")

    def test_a_fit_rule_reads_the_account_score(self):
        self.env['crm.lead.fit.rule'].create({
            'name': 'Engaged account', 'domain': "[('account_score', '>=', 50)]", 'points': 25})
        big = self._lead(self.cto, score_points=40, job_level='technical')
        small = self._lead(self.buyer, job_level='procurement')
        self.env['crm.lead']._score_leads((big | small).ids, 'manual')
        _engage(self.env, big | small, days_ago=2)
        self._roll_up()
        self.assertEqual(self.account.account_score, 60)
        with self._mock_commit_progress():
            self.env['crm.lead']._cron_rescore_all_leads()
        self.assertEqual(small.score, 25, 'the fit rule on the account score matched')
        self.assertEqual(big.score, 65)

    def test_views_load(self):
        self.env['res.partner'].get_views([(False, 'form')])
        self.env['crm.lead'].get_views([(False, 'form'), (False, 'search')])
        self.env['res.config.settings'].get_views([(False, 'form')])


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestAccountRouting(TestRoutingCommon):

    def test_a_routing_rule_on_the_account_tier(self):
        dave = mail_new_test_user(self.env, login='routing_dave_account', name='Dave',
                                  groups='sales_team.group_sale_salesman')
        key_accounts = self.env['crm.team'].create({'name': 'Key accounts', 'crm_team_member_ids': [(0, 0, {
            'user_id': dave.id, 'capacity_ids': [(0, 0, {'tier_id': self.tier_a.id, 'max_open_leads': 5})]})]})
        self.env['crm.lead.routing.rule'].create({
            'name': 'Hot accounts', 'sequence': 1, 'tier_ids': [(6, 0, self.tier_a.ids)],
            'team_id': key_accounts.id, 'domain': f"[('account_tier_id', '=', {self.tier_a.id})]",
        })
        account = self.env['res.partner'].create({'name': 'Hot Account', 'is_company': True})
        contact = self.env['res.partner'].create({'name': 'Hot contact', 'parent_id': account.id})
        at_account, alone = self._hot_leads(2)
        at_account.partner_id = contact
        self.env['crm.lead']._score_leads((at_account + alone).ids, 'manual')
        self.assertEqual(at_account.account_tier_id, self.tier_a)
        self._route()
        self.assertEqual(at_account.user_id, dave)
        self.assertNotEqual(alone.user_id, dave)
