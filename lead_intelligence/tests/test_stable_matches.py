from unittest.mock import patch

from odoo.tests import tagged
from odoo.tools import SQL

from ..hooks import uninstall_hook
from .common import TestLeadIntelligenceCommon


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestStableMatches(TestLeadIntelligenceCommon):
    """The nightly pass matches the stable fit rules on the leads changed since their last match
    only, and reads the others' stored matches; whatever changes a lead flags it."""

    def _full_pass(self):
        """Run the full pass as its job does: the one waiting (a configuration pass), else a nightly one."""
        with self._mock_commit_progress():
            self.env['crm.lead']._cron_rescore_all_leads()
        self.env.invalidate_all()
        return self.env['crm.lead.score.run'].search([('state', '=', 'done')], order='id desc', limit=1)

    def _write_unseen(self, query, params):
        """Write by SQL with the dirty trigger off: a change no one flags, to see what the pass reads."""
        self.env.cr.execute('ALTER TABLE crm_lead DISABLE TRIGGER lead_intelligence_flag_dirty')
        self.env.cr.execute(query, params)
        self.env.cr.execute('ALTER TABLE crm_lead ENABLE TRIGGER lead_intelligence_flag_dirty')

    def test_rules_reading_the_lead_own_fields_are_stable(self):
        config = self.env['crm.lead']._get_scoring_config()
        stable = [config.rules[index] for index in config.stable.tolist()]
        self.assertEqual(stable, [self.rule_revenue, self.rule_ceo, self.rule_student, self.rule_phone],
                         "crm computes a lead's phone from its contact's, and writes it: the trigger sees it")
        probability = self.env['crm.lead.fit.rule'].create({
            'name': 'Likely', 'domain': "[('probability', '>=', 50)]", 'points': 20})
        self.assertTrue(probability._is_stable(), "crm's PLS writes the probability by SQL: the trigger sees it")
        account = self.env['crm.lead.fit.rule'].create({
            'name': 'Acme', 'domain': "[('partner_id.name', 'ilike', 'acme')]", 'points': 20})
        self.assertFalse(account._is_stable(), "a contact's name changes with no change of its leads")
        self.assertNotIn(account.id, self.env['crm.lead']._get_scoring_config().stable.tolist())

    def test_nightly_pass_reads_the_stored_matches_of_unchanged_leads(self):
        lead = self._create_lead(function='CEO', phone='+1 555 0100')
        first = self._full_pass()
        self.assertTrue(first.stable_key, 'the pass records which stable rules the leads hold')
        self.assertEqual((lead.fit_score, lead.score_dirty), (40, False))
        # a change no one flagged: the nightly pass keeps the lead's stored matches...
        self._write_unseen("UPDATE crm_lead SET function = 'Student' WHERE id = %s", [lead.id])
        self._full_pass()
        self.assertEqual(lead.fit_score, 40, 'the stable rules were not matched again on a clean lead')
        # ...which a pass of any other cause matches again, and keeps
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.env.invalidate_all()
        self.assertEqual(lead.fit_score, 0, 'Student -20 and Phone +10: below the floor')
        self._full_pass()
        self.assertEqual(lead.fit_score, 0)

    def test_a_contact_edit_that_recomputes_a_lead_flags_it(self):
        """A field crm computes from the contact (the phone) is stable: Odoo writes the lead's
        column when it recomputes it, and the trigger flags the lead; the nightly pass, which
        reads the other leads' stored matches, matches it again."""
        french = self.env['crm.lead.fit.rule'].create({
            'name': 'French phone', 'domain': "[('phone', '=like', '+33%')]", 'points': 25})
        self.assertTrue(french._is_stable())
        self.assertIn('phone', self.env['crm.lead']._get_dirty_watched_fields())
        contact = self.env['res.partner'].create({'name': 'Buyer', 'phone': '+1 555 0100'})
        lead, other = self._create_lead(partner_id=contact.id), self._create_lead(phone='+33 1 23 45 67 89')
        self._full_pass()
        self.assertEqual((lead.phone, lead.fit_score, other.fit_score), ('+1 555 0100', 10, 35))
        contact.phone = '+33 1 98 76 54 32'
        self.env.flush_all()
        self.env.invalidate_all()
        self.assertEqual(lead.phone, '+33 1 98 76 54 32', "crm recomputes the lead's phone")
        self.assertEqual((lead.score_dirty, other.score_dirty), (True, False))
        run = self._full_pass()
        self.assertEqual(run.cause, 'nightly')
        self.assertEqual((lead.fit_score, other.fit_score, lead.score_dirty), (35, 35, False))

    def _assert_kept_state_holds(self):
        """Every lead not flagged has, beside its scores, its own company, tier and state."""
        self.env.flush_all()
        self.assertEqual(self.env.execute_query(SQL(
            """SELECT lead.id FROM crm_lead lead JOIN crm_lead_score score ON score.lead_id = lead.id
                WHERE NOT EXISTS (SELECT 1 FROM crm_lead_dirty dirty WHERE dirty.lead_id = lead.id)
                  AND (score.lead_company_id IS DISTINCT FROM COALESCE(lead.company_id, 0)
                       OR score.lead_tier_id IS DISTINCT FROM COALESCE(lead.tier_id, 0)
                       OR score.lead_open
                          IS DISTINCT FROM COALESCE(lead.active AND lead.won_status = 'pending', FALSE))""")), [])

    def test_nightly_pass_reads_unflagged_leads_from_their_scores(self):
        """Every rule stable: the nightly pass reads the wide rows of the flagged leads only; the
        others' company, tier and state are those kept beside their scores, which every pass that
        reads a lead's row keeps up to date."""
        Lead = self.env['crm.lead']
        ceo, edited, student = (self._create_lead(function='CEO'), self._create_lead(function='CEO'),
                                self._create_lead(function='Student', expected_revenue=60000))
        self._full_pass()
        self._full_pass()
        self._assert_kept_state_holds()
        self.assertEqual(len(Lead._get_scoring_config().stable), len(Lead._get_scoring_config().rules))
        read = []
        original = type(Lead)._read_lead_rows

        def reading(model, query, config, chunk=None):
            result = original(model, query, config, chunk)
            read.extend(result[0][:, 0].tolist())
            return result

        edited.function = 'Student'
        with patch.object(type(Lead), '_read_lead_rows', reading):
            run = self._full_pass()
        self.assertEqual(read, [edited.id], 'the flagged lead alone is read from crm_lead')
        self.assertEqual(run.leads_done, 1, "the others' scores hold (no engagement to decay): they are not read")
        self.assertEqual((ceo.fit_score, edited.fit_score, student.fit_score), (30, 0, 20))
        self._assert_kept_state_holds()
        # a lead closed leaves the nightly pass once the job has scored it; a lead reopened comes back. The
        # passes read every open lead (the times their scores hold are not known to the last pass)
        student.action_set_lost()
        with self._mock_commit_progress():
            Lead._cron_rescore_dirty_leads()
        self._assert_kept_state_holds()
        open_count = Lead.search_count(Lead._get_open_leads_domain())
        run.settled_key = False
        run = self._full_pass()
        self.assertEqual(run.leads_done, open_count)
        student.action_unarchive()
        self.env.invalidate_all()
        self.assertTrue(student.score_dirty)
        run.settled_key = False
        self.assertEqual(self._full_pass().leads_done, open_count + 1)
        self._assert_kept_state_holds()

    def test_a_tier_deleted_under_a_nightly_pass_is_none(self):
        """A tier deleted empties the leads' tier (its foreign key); a nightly pass that runs before the
        full pass the deletion starts reads no tier for them either, not the deleted one."""
        lead = self._create_lead(function='CEO', expected_revenue=90000)
        self._full_pass()
        self._full_pass()
        tier = lead.tier_id
        self.assertTrue(tier)
        self.env['crm.lead.score.run'].search([]).unlink()
        self.env.flush_all()
        self.env.cr.execute('DELETE FROM crm_lead_tier WHERE id = %s', [tier.id])
        # the last pass done holds the current stable matches: the next one is a nightly pass reading them
        self.env['crm.lead.score.run'].create({
            'cause': 'nightly', 'state': 'done', 'stable_key': self.env['crm.lead']._get_scoring_config().stable_key})
        self.env.invalidate_all()
        self.assertFalse(lead.tier_id)
        run = self._full_pass()
        self.assertEqual((run.cause, run.state), ('nightly', 'done'))
        self.assertTrue(lead.tier_id, 'the lead takes the tier its score reaches now')
        self.assertEqual(lead.score_history_ids[:1].mapped(lambda row: (row.old_tier_id, row.new_tier_id)),
                         [(self.env['crm.lead.tier'], lead.tier_id)], 'from none, as on the lead')

    def test_nightly_pass_matches_edited_leads_again(self):
        edited, other = self._create_lead(function='CEO'), self._create_lead(function='CEO')
        self._full_pass()
        self.assertEqual((edited.fit_score, other.fit_score), (30, 30))
        edited.function = 'Student'
        self.assertTrue(edited.score_dirty)
        self._full_pass()
        self.assertEqual((edited.fit_score, other.fit_score, edited.score_dirty), (0, 30, False))

    def test_sql_write_flags_the_lead_and_it_is_rescored(self):
        lead = self._create_lead(function='Buyer')
        self._full_pass()
        self.assertEqual((lead.fit_score, lead.score_dirty), (0, False))
        self.env.cr.execute("UPDATE crm_lead SET function = 'CEO' WHERE id = %s", [lead.id])
        self.env.invalidate_all()
        self.assertTrue(lead.score_dirty, 'the trigger flags a lead written behind the ORM')
        self._full_pass()
        self.assertEqual((lead.fit_score, lead.score_dirty), (30, False))
        # the dirty job, which runs within minutes, scores it too
        self.env.cr.execute("UPDATE crm_lead SET expected_revenue = 90000 WHERE id = %s", [lead.id])
        with self._mock_commit_progress():
            self.env['crm.lead']._cron_rescore_dirty_leads()
        self.env.invalidate_all()
        self.assertEqual(lead.fit_score, 70)

    def test_trigger_flags_only_what_can_move_a_score(self):
        lead = self._create_lead(function='CEO')
        tag = self.env['crm.tag'].create({'name': 'Imported'})
        self.env['crm.lead']._score_leads(lead.ids, 'manual')

        def dirty():
            self.env.invalidate_all()
            return lead.score_dirty

        self.env.cr.execute(
            "UPDATE crm_lead SET function = 'CEO', color = 3, probability = probability WHERE id = %s", [lead.id])
        self.assertFalse(dirty(), 'the same job position and probability, a colour')
        # crm's predictive scoring, as its nightly cron writes: the probabilities it changes only
        pls_update = ("UPDATE crm_lead SET automated_probability = 42, probability = CASE WHEN "
                      "(probability = automated_probability OR probability IS NULL) THEN 42 ELSE probability END "
                      "WHERE id = %s")
        self.env.cr.execute(pls_update, [lead.id])
        self.assertTrue(dirty(), "a probability crm's PLS changed by SQL")
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.env.cr.execute(pls_update, [lead.id])
        self.assertFalse(dirty(), 'the same probabilities written again')
        self.env.cr.execute('INSERT INTO crm_tag_rel (lead_id, tag_id) VALUES (%s, %s)', [lead.id, tag.id])
        self.assertTrue(dirty(), 'a tag linked by SQL')
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.env.cr.execute('DELETE FROM crm_tag_rel WHERE lead_id = %s', [lead.id])
        self.assertTrue(dirty(), 'a tag unlinked by SQL')
        self.env.cr.execute(
            "INSERT INTO crm_lead (name, type, active) VALUES ('Imported', 'lead', TRUE) "
            "RETURNING id")
        imported = self.env['crm.lead'].browse(self.env.cr.fetchone()[0])
        self.assertTrue(imported.score_dirty, 'a lead inserted by SQL is scored')

    def test_a_deleted_lead_leaves_no_flag(self):
        lead = self._create_lead(function='CEO')
        lead.tag_ids = self.env['crm.tag'].create({'name': 'Linked'})
        self.assertTrue(lead.score_dirty)
        lead_id = lead.id
        lead.unlink()
        self.env.flush_all()
        self.assertFalse(self.env.execute_query(SQL('SELECT 1 FROM crm_lead_dirty WHERE lead_id = %s', lead_id)))

    def test_uninstall_drops_the_flags_and_their_triggers(self):
        lead = self._create_lead(function='CEO')
        tag = self.env['crm.tag'].create({'name': 'Kept'})
        self.env.flush_all()
        uninstall_hook(self.env)
        self.assertFalse(self.env.execute_query(SQL(
            "SELECT tgname FROM pg_trigger WHERE starts_with(tgname, 'lead_intelligence_flag_dirty')")))
        self.assertFalse(self.env.execute_query(SQL(
            "SELECT proname FROM pg_proc WHERE starts_with(proname, 'lead_intelligence_flag_dirty')")))
        self.assertIsNone(self.env.execute_query(SQL("SELECT to_regclass('crm_lead_dirty')"))[0][0])
        self.assertIsNone(self.env.execute_query(SQL(
            "SELECT reloptions FROM pg_class WHERE oid = 'crm_lead'::regclass"))[0][0], 'full pages again')
        # crm's own writes, of the lead and of its tags, go on without the addon's triggers
        self.env.cr.execute("UPDATE crm_lead SET function = 'CFO' WHERE id = %s", [lead.id])
        self.env.cr.execute('INSERT INTO crm_tag_rel (lead_id, tag_id) VALUES (%s, %s)', [lead.id, tag.id])
        self.env.cr.execute("INSERT INTO crm_lead (name, type, active) VALUES ('After', 'lead', TRUE)")

    def test_rule_change_matches_every_lead_again(self):
        lead = self._create_lead(function='CEO', phone='+1 555 0100')
        self._full_pass()
        key = self.env['crm.lead']._get_scoring_config().stable_key
        # a new stable rule ahead of the others moves every stored match to another bit
        self.env['crm.lead.fit.rule'].create({
            'name': 'Chinese', 'domain': "[('lang_id.code', '=', 'zh_CN')]", 'points': 5, 'sequence': 0})
        self.assertNotEqual(self.env['crm.lead']._get_scoring_config().stable_key, key)
        self._write_unseen("UPDATE crm_lead SET function = 'Student' WHERE id = %s", [lead.id])
        run = self._full_pass()
        self.assertEqual(run.cause, 'config')
        self.assertEqual(lead.fit_score, 0, 'the configuration pass matched every rule again')
        # the stored matches, in the new order, hold at night
        self._full_pass()
        self.assertEqual(lead.fit_score, 0)
        self.rule_student.domain = "[('function', 'ilike', 'intern')]"
        self._full_pass()
        self.assertEqual(lead.fit_score, 10, 'Phone +10 only')

    def test_unstable_rules_are_matched_every_night(self):
        self.env['crm.lead.fit.rule'].create({
            'name': 'Acme', 'domain': "[('partner_id.name', 'ilike', 'acme')]", 'points': 20})
        contact = self.env['res.partner'].create({'name': 'Buyer'})
        lead = self._create_lead(function='CEO', partner_id=contact.id)
        self._full_pass()
        self.assertEqual(lead.fit_score, 30)
        # the contact renamed behind the ORM: no lead is written or flagged, the nightly pass sees it anyway
        self.env.cr.execute("UPDATE res_partner SET name = 'Acme Corp' WHERE id = %s", [contact.id])
        self.env.invalidate_all()
        self.assertFalse(lead.score_dirty)
        self._full_pass()
        self.assertEqual(lead.fit_score, 50)

    def test_a_probability_written_by_crm_rescores_the_lead(self):
        """crm's predictive scoring writes the probabilities by SQL: the trigger flags the leads whose
        probability it changed, and the nightly pass, which reads the others' stored matches of the
        rules on the probability, matches these again."""
        likely = self.env['crm.lead.fit.rule'].create({
            'name': 'Likely', 'domain': "[('probability', '>=', 50)]", 'points': 20})
        lead, other = self._create_lead(function='CEO'), self._create_lead(function='CEO')
        self.env.flush_all()
        self.env.cr.execute('UPDATE crm_lead SET probability = 10, automated_probability = 10 WHERE id IN %s',
                            [tuple((lead | other).ids)])
        self._full_pass()
        self.assertEqual((lead.fit_score, other.fit_score), (30, 30))
        self.assertIn(likely.id, [self.env['crm.lead']._get_scoring_config().rules[index].id
                                  for index in self.env['crm.lead']._get_scoring_config().stable.tolist()])
        self.env.cr.execute('UPDATE crm_lead SET probability = 80, automated_probability = 80 WHERE id = %s',
                            [lead.id])
        self.env.invalidate_all()
        self.assertEqual((lead.score_dirty, other.score_dirty), (True, False))
        run = self._full_pass()
        self.assertEqual(run.cause, 'nightly')
        self.assertEqual((lead.fit_score, other.fit_score, lead.score_dirty), (50, 30, False))

    def test_nightly_pass_classifies_the_changed_leads_in_step_with_their_scores(self):
        self.env['crm.lead.fit.rule'].create({
            'name': 'Acme', 'domain': "[('partner_id.name', 'ilike', 'acme')]", 'points': 20})
        contacts = self.env['res.partner'].create([{'name': 'Buyer'}, {'name': 'Other buyer'}])
        lead, other = (self._create_lead(function='CEO', type='lead', partner_id=contacts[0].id),
                       self._create_lead(function='CEO', type='lead', partner_id=contacts[1].id))
        self._full_pass()
        self.assertEqual((lead.score, lead.lifecycle_stage, lead.job_level), (30, 'cold', 'decision_maker'))
        # no write flags the lead, but its score moves at night: its lifecycle follows in the same pass
        self.env.cr.execute("UPDATE res_partner SET name = 'Acme' WHERE id = %s", [contacts[0].id])
        self.env.invalidate_all()
        self._full_pass()
        self.assertEqual((lead.score, lead.lifecycle_stage), (50, 'mql'))
        # the dimensions read before the scores are matched again on the leads flagged since only
        self._write_unseen("UPDATE crm_lead SET function = 'Intern' WHERE id IN %s", [tuple((lead | other).ids)])
        other.function = 'Software Engineer'
        self._full_pass()
        self.assertEqual((lead.job_level, other.job_level), ('decision_maker', 'technical'))

    def test_nightly_pass_in_small_chunks_rescores_every_edited_lead(self):
        self.env['ir.config_parameter'].sudo().set_param('lead_intelligence.chunk_size', 2)
        leads = self.env['crm.lead'].create([{'name': f'Lead {i}', 'function': 'CEO'} for i in range(7)])
        self._full_pass()
        self.assertEqual(set(leads.mapped('fit_score')), {30})
        edited = leads[1] | leads[4] | leads[5] | leads[6]
        edited.function = 'Student'
        run = self._full_pass()
        self.assertEqual(leads.mapped('fit_score'), [30, 0, 30, 30, 0, 0, 0])
        self.assertEqual(set((leads - edited).mapped('job_level')), {'decision_maker'})
        self.assertNotIn('decision_maker', edited.mapped('job_level'))
        self.assertFalse(any(leads.mapped('score_dirty')))
        Lead = self.env['crm.lead']
        self.assertEqual(run.leads_done, Lead.search_count(Lead._get_open_leads_domain()))
