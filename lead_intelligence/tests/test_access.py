import json
from datetime import datetime, timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, tagged, users
from odoo.tools import mute_logger

from .common import TestLeadIntelligenceCommon


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestAccess(TestLeadIntelligenceCommon):
    """Fields the addon fills in, and its tables, are written by its own passes only."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._activate_multi_company()
        cls.tier_c2 = cls.env['crm.lead.tier'].create({
            'name': 'C2 only', 'min_score': 0, 'company_id': cls.company_2.id})
        Lead = cls.env['crm.lead']
        cls.own_lead = Lead.create({
            'name': 'Own lead', 'user_id': cls.user_sales_salesman.id, 'team_id': cls.sales_team_1.id})
        cls.other_lead = Lead.create({
            'name': 'Secret deal', 'user_id': False, 'company_id': cls.company_2.id, 'function': 'CEO',
            'expected_revenue': 90000})
        Lead._score_leads((cls.own_lead + cls.other_lead).ids, 'manual')

    def _state(self, lead):
        lead.invalidate_recordset()
        # sudo: the values as stored, whatever the user may read
        lead = lead.sudo()
        return {name: lead[name] for name in (
            'score_line_id', 'score', 'tier_id', 'score_dirty', 'visit_count', 'buying_signal_count',
            'last_engagement_date', 'routing_state', 'sla_deadline', 'model_probability')}

    @users('user_sales_salesman')
    def test_salesman_cannot_write_system_fields(self):
        lead = self.own_lead.with_env(self.env)
        before = self._state(lead)
        attempts = {
            # pointing the lead at another company's score row would show its scores
            'score_line_id': self.other_lead.score_line_id.id,
            'visit_count': 500,
            'buying_signal_count': 40,
            'tier_id': self.tier_c2.id,
            'score_dirty': False,
            'score_flag': True,
            'last_engagement_date': fields.Datetime.now(),
            'routing_state': 'manual',
            'sla_deadline': fields.Datetime.now() + timedelta(days=30),
            'score': 100,
            'model_probability': 0.99,
        }
        for name, value in attempts.items():
            with self.subTest(field=name), self.assertRaisesRegex(AccessError, 'filled in by Lead Intelligence'):
                lead.write({'name': 'Renamed', name: value})
        self.assertEqual(self._state(lead), before)
        self.assertEqual(lead.score_line_id.lead_id, lead, 'the lead still reads its own scores')
        # the lead's own fields, classification included, stay the user's to edit
        lead.write({'name': 'Renamed', 'industry_id': self.env.ref('base.res_partner_industry_M').id})
        self.assertTrue(lead.industry_manual)
        lead.write({'industry_manual': False})
        self.assertEqual((lead.name, lead.industry_manual), ('Renamed', False))

    @users('user_sales_salesman')
    def test_salesman_cannot_create_with_system_fields(self):
        Lead = self.env['crm.lead']
        for name, value in (('tier_id', self.tier_c2.id), ('visit_count', 99), ('score_dirty', False),
                            ('score_line_id', self.other_lead.score_line_id.id), ('routing_state', 'routed')):
            with self.subTest(field=name), self.assertRaisesRegex(AccessError, 'filled in by Lead Intelligence'):
                Lead.create({'name': 'Forged', name: value})
        self.assertFalse(Lead.sudo().search([('name', '=', 'Forged')]))
        lead = Lead.create({'name': 'Plain', 'user_id': self.env.uid})
        self.assertTrue(lead.score_dirty)
        self.assertTrue(lead.copy().score_dirty, 'duplicating a lead copies none of them')

    def test_system_passes_still_write_them(self):
        # superuser code (the passes, the demo data, the bench) is not refused
        self.own_lead.write({'visit_count': 3, 'tier_id': self.tier_a.id})
        self.assertEqual((self.own_lead.visit_count, self.own_lead.tier_id), (3, self.tier_a))
        self.own_lead.with_user(self.user_sales_salesman).sudo().write({'routing_state': 'manual'})
        self.assertEqual(self.own_lead.routing_state, 'manual')

    @users('user_sales_salesman')
    def test_rescore_checks_write_access(self):
        colleague_lead = self.env['crm.lead'].sudo().create({
            'name': "A colleague's lead", 'user_id': self.user_sales_leads.id, 'team_id': self.sales_team_1.id})
        self.env['crm.lead'].sudo()._score_leads(colleague_lead.ids, 'manual')
        for lead in (self.other_lead, colleague_lead):
            lead = lead.with_env(self.env)
            with self.subTest(lead=lead.sudo().name):
                before = self._state(lead)
                with self.assertRaises(AccessError), mute_logger('odoo.addons.base.models.ir_rule'):
                    lead.action_recompute_score()
                self.assertEqual(self._state(lead), before)
        self.own_lead.with_env(self.env).action_recompute_score()

    def test_scoring_runs_are_read_only_for_managers(self):
        run = self.env['crm.lead.score.run'].create({'cause': 'nightly'})
        # a run moved past every lead would skip them all
        with self.assertRaises(AccessError), mute_logger('odoo.addons.base.models.ir_model'):
            run.with_user(self.user_sales_manager).write({'last_lead_id': 10 ** 9})
        with self.assertRaises(AccessError), mute_logger('odoo.addons.base.models.ir_model'):
            self.env['crm.lead.score.run'].with_user(self.user_sales_manager).create({'cause': 'config'})
        self.assertEqual(run.last_lead_id, 0)

    @users('user_sales_manager')
    def test_training_wizard_counts_the_history_of_the_users_companies_only(self):
        Wizard = self.env['crm.lead.scoring.model.train.wizard']
        wizard = Wizard.create({})
        self.assertEqual(wizard.company_id, self.company_main)
        self.assertGreaterEqual(wizard.won_count, 0)
        with self.assertRaisesRegex(AccessError, 'your own companies'):
            Wizard.create({'company_id': self.company_2.id}).won_count  # noqa: B018


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestAccessRpc(HttpCase):
    """The same refusals through JSON-2, as an outside script would try them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesman = cls.env['res.users'].create({
            'name': 'RPC Salesman', 'login': 'li_rpc_salesman', 'company_id': cls.env.company.id,
            'company_ids': [Command.set(cls.env.company.ids)],
            'group_ids': [Command.set([cls.env.ref('sales_team.group_sale_salesman').id])],
        })
        cls.key = cls.env['res.users.apikeys'].with_user(cls.salesman)._generate(
            'rpc', 'test key', datetime.now() + timedelta(hours=12))
        Lead = cls.env['crm.lead']
        cls.own_lead = Lead.create({'name': 'RPC own lead', 'user_id': cls.salesman.id})
        cls.other_lead = Lead.create({'name': 'RPC other lead', 'user_id': False, 'expected_revenue': 90000})
        Lead._score_leads((cls.own_lead + cls.other_lead).ids, 'manual')

    def _call(self, model, method, **params):
        return self.url_open(f'/json/2/{model}/{method}', data=json.dumps(params), headers={
            'Content-Type': 'application/json', 'Authorization': f'Bearer {self.key}'})

    @mute_logger('odoo.http')
    def test_write_of_score_line_over_json2_is_refused(self):
        line = self.own_lead.score_line_id
        response = self._call('crm.lead', 'write', ids=self.own_lead.ids,
                              vals={'score_line_id': self.other_lead.score_line_id.id, 'visit_count': 77})
        self.assertEqual(response.status_code, 403, response.text)
        self.assertIn('filled in by Lead Intelligence', response.json()['message'])
        self.own_lead.invalidate_recordset()
        self.assertEqual((self.own_lead.score_line_id, self.own_lead.visit_count), (line, 0))
        # the user's own edits still go through
        response = self._call('crm.lead', 'write', ids=self.own_lead.ids, vals={'name': 'Renamed over RPC'})
        self.assertEqual(response.status_code, 200, response.text)
        self.own_lead.invalidate_recordset()
        self.assertEqual(self.own_lead.name, 'Renamed over RPC')
