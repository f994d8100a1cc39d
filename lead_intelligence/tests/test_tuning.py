from unittest.mock import patch

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged, users

from .common import TestLeadIntelligenceCommon


@tagged('post_install', '-at_install')
class TestTuning(TestLeadIntelligenceCommon):
    """Tune from results on hand-built closed leads: 12 won buyers marked "VIP" by their job
    position, 12 won others and 36 lost leads that gave a phone; a rule matches the VIP buyers
    only (their score is the highest: 30 points), another the lost leads only (10 points)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.rule_vip = cls.env['crm.lead.fit.rule'].create({
            'name': 'VIP buyer', 'domain': "[('function', 'ilike', 'VIP buyer')]", 'points': 30, 'sequence': 5,
        })
        Lead = cls.env['crm.lead']
        cls.vip_won = Lead.create([{'name': f'VIP {n}', 'function': 'VIP buyer', 'expected_revenue': 10000}
                                   for n in range(12)])
        cls.other_won = Lead.create([{'name': f'Won {n}', 'expected_revenue': 1000} for n in range(12)])
        cls.other_lost = Lead.create([{'name': f'Lost {n}', 'phone': '+32 2 000 00 00'} for n in range(36)])
        (cls.vip_won + cls.other_won).action_set_won()
        cls.other_lost.action_set_lost()
        Lead._score_leads((cls.vip_won + cls.other_won + cls.other_lost).ids, 'manual')
        # what the configuration above scheduled is not what the tests look for
        cls.env['crm.lead.score.run'].search([]).write({'state': 'cancel'})

    def _computed_tuning(self, **values):
        tuning = self.env['crm.lead.tuning'].create(values)
        tuning.action_compute()
        return tuning

    def _line(self, tuning, record):
        return tuning.line_ids.filtered(lambda line: (line.fit_rule_id or line.event_type_id) == record)

    def test_suggestions_from_closed_leads(self):
        tuning = self._computed_tuning()
        self.assertGreaterEqual(tuning.lead_count, 60)
        vip = self._line(tuning, self.rule_vip)
        self.assertEqual((vip.leads_matched, vip.won_count, vip.conversion), (12, 12, 1.0))
        self.assertAlmostEqual(vip.lift, 1.0 / tuning.base_rate, places=2)
        self.assertGreater(vip.suggested_points, 0)
        self.assertFalse(vip.flag)
        phone = self._line(tuning, self.rule_phone)
        self.assertEqual(phone.flag, 'below_base')  # only lost leads gave a phone
        self.assertLess(phone.suggested_points, 0)
        student = self._line(tuning, self.rule_student)
        self.assertEqual((student.flag, student.suggested_points, student.confidence), ('never', -20, 'low'))
        self.assertEqual(tuning.tier_line_ids.tier_id, self.tier_a + self.tier_b + self.tier_c + self.tier_d)
        # nothing changes until applied
        self.assertEqual((self.rule_vip.points, self.rule_phone.points), (30, 10))
        self.assertFalse(self.env['crm.lead.score.run'].search([('state', '=', 'running')]))

    def test_apply_selected_writes_points_records_history_and_rescores(self):
        tuning = self._computed_tuning()
        vip = self._line(tuning, self.rule_vip)
        vip.selected = True
        tuning.with_user(self.user_sales_manager).action_apply_selected()
        self.assertEqual(self.rule_vip.points, round(vip.suggested_points))
        self.assertEqual(self.rule_phone.points, 10, "a line not selected is not applied")
        change = tuning.history_ids
        self.assertEqual(len(change), 1)
        self.assertEqual((change.fit_rule_id, change.old_value, change.new_value, change.user_id),
                         (self.rule_vip, 30, self.rule_vip.points, self.user_sales_manager))
        self.assertIn('12 closed leads', change.reason)
        self.assertTrue(vip.applied)
        self.assertEqual(tuning.state, 'applied')
        self.assertTrue(self.env['crm.lead.score.run'].search([('state', '=', 'running'), ('cause', '=', 'config')]))
        with self.assertRaisesRegex(UserError, 'Nothing to apply'):
            tuning.action_apply_selected()

    def test_apply_all_moves_the_tier_cutoffs_in_order(self):
        tuning = self._computed_tuning()
        lines = tuning.tier_line_ids
        lines.write({'target_share': 0.0})
        lines[0].target_share, lines[1].target_share = 0.2, 0.2
        tuning.action_propose_cutoffs()
        proposed = lines.mapped('proposed_min_score')
        self.assertEqual(proposed[-1], 0)
        self.assertEqual(proposed, sorted(proposed, reverse=True))
        # the 12 VIP buyers have the top score: about 20 % of the closed leads
        self.assertAlmostEqual(lines[0].proposed_share, 0.2, delta=0.05)
        self.assertEqual(lines[0].proposed_conversion, 1.0)
        self.assertAlmostEqual(sum(lines.mapped('proposed_share')), 1.0, places=3)
        self.assertAlmostEqual(sum(lines.mapped('current_share')), 1.0, places=3)
        tuning.action_apply_all()
        self.assertEqual([tier.min_score for tier in lines.tier_id], proposed)
        moved = lines.filtered(lambda line: line.proposed_min_score != line.current_min_score)
        self.assertEqual(tuning.history_ids.filtered('tier_id').tier_id, moved.tier_id)
        self.assertTrue(self.env['crm.lead.score.run'].search([('state', '=', 'running'), ('cause', '=', 'config')]))

    def test_suggestions_learn_from_the_newest_closed_leads(self):
        self.env.cr.execute("UPDATE crm_lead SET date_closed = now() - interval '1 day' WHERE id = ANY(%s)",
                            [self.other_won.ids])
        with patch('odoo.addons.lead_intelligence.models.tuning.crm_lead_tuning.MAX_SUGGESTION_LEADS', 48):
            tuning = self._computed_tuning()
        self.assertEqual(tuning.sample_count, 48)
        self.assertEqual(tuning.base_rate, 0.25, "the VIP buyers and the lost leads, the others closed before")
        self.assertEqual(self._line(tuning, self.rule_vip).leads_matched, 12)
        self.assertEqual(self._line(tuning, self.rule_phone).leads_matched, 36)
        # the tier backtest counts every closed lead of the period
        self.assertGreaterEqual(tuning.lead_count, 60)
        self.assertEqual(tuning.scored_count, tuning.lead_count)
        with patch('odoo.addons.lead_intelligence.models.tuning.crm_lead_tuning.MAX_SUGGESTION_LEADS', 36):
            with self.assertRaisesRegex(UserError, 'all won or all lost'):
                tuning.action_compute()

    def test_period_without_both_outcomes_is_refused(self):
        tuning = self.env['crm.lead.tuning'].create({'date_from': '2001-01-01', 'date_to': '2001-12-31'})
        with self.assertRaisesRegex(UserError, 'won and lost'):
            tuning.action_compute()
        self.assertEqual(tuning.state, 'draft')

    @users('user_sales_salesman')
    def test_only_managers_tune(self):
        tuning = self.env['crm.lead.tuning'].sudo().create({})
        tuning.action_compute()
        with self.assertRaises(AccessError):
            tuning.with_user(self.env.user).action_apply_all()
        with self.assertRaises(AccessError):
            self.env['crm.lead.tuning'].create({})
        self.assertEqual(self.rule_vip.points, 30)

    def test_a_tuning_reads_its_company_only(self):
        self._activate_multi_company()
        other = self.env['crm.lead'].create([{'name': f'C2 VIP {n}', 'function': 'VIP buyer',
                                             'company_id': self.company_2.id} for n in range(5)])
        other.action_set_lost()
        tuning = self._computed_tuning(company_id=self.company_main.id)
        self.assertEqual(self._line(tuning, self.rule_vip).leads_matched, 12)
        other_tuning = self.env['crm.lead.tuning'].create({'company_id': self.company_2.id})
        with self.assertRaisesRegex(UserError, '0 won and 5 lost'):  # none of the main company's leads
            other_tuning.action_compute()
        main_only = self.env['crm.lead.tuning'].with_user(self.user_sales_manager).with_context(
            allowed_company_ids=self.company_main.ids)
        self.assertEqual(main_only.search([('id', 'in', (tuning | other_tuning).ids)]), tuning)

    def test_applied_tuning_is_kept(self):
        tuning = self._computed_tuning()
        tuning.action_apply_all()
        with self.assertRaisesRegex(UserError, 'history'):
            tuning.unlink()
