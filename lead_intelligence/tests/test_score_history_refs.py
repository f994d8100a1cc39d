from odoo.tests import tagged
from odoo.tools import SQL

from .common import TestLeadIntelligenceCommon


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestScoreHistoryReferences(TestLeadIntelligenceCommon):
    """The score history keeps its lead and tiers without foreign keys (a bulk insert paid two
    thirds of its time checking them); the deletions carry out what the keys did."""

    def _foreign_key_columns(self, table='crm_lead_score_history'):
        return {row[0] for row in self.env.execute_query(SQL(
            """SELECT a.attname FROM pg_constraint c
                 JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
                WHERE c.conrelid = %s::regclass AND c.contype = 'f'""", table))}

    def _scored_lead(self):
        lead = self._create_lead(expected_revenue=60000, function='CEO', phone='+1 555 0104')
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.assertEqual(lead.tier_id, self.tier_a)
        return lead

    def test_no_foreign_key_on_lead_and_tiers(self):
        columns = self._foreign_key_columns()
        self.assertFalse({'lead_id', 'old_tier_id', 'new_tier_id'} & columns, columns)
        self.assertIn('user_id', columns, "the user stays checked: the jobs' rows have none")
        self.assertEqual(self._foreign_key_columns('crm_lead_classification_history'), {'user_id'})

    def _classified_lead(self, lead):
        self.env['crm.lead.classification.rule'].create({
            'name': 'Chief', 'dimension': 'job_level', 'value': 'job_level:decision_maker',
            'domain': "[('function', 'ilike', 'CEO')]"})
        self.env['crm.lead']._classify_query(self.env['crm.lead']._query_leads(lead.ids), 'manual')
        self.assertTrue(lead.classification_history_ids)
        return lead

    def test_lead_unlink_deletes_its_history(self):
        lead, other = self._classified_lead(self._scored_lead()), self._scored_lead()
        self.assertTrue(lead.score_history_ids)
        lead_id = lead.id
        lead.unlink()
        self.assertFalse(self.env['crm.lead.score.history'].search_count([('lead_id', '=', lead_id)]))
        self.assertFalse(self.env['crm.lead.classification.history'].search_count([('lead_id', '=', lead_id)]))
        self.assertTrue(other.score_history_ids, "another lead's history stays")

    def test_tier_unlink_empties_its_references(self):
        lead = self._scored_lead()
        row = lead.score_history_ids[0]
        self.assertEqual(row.new_tier_id, self.tier_a)
        # a tier of its own, so that the test tiers' thresholds stay whole
        spare = self.env['crm.lead.tier'].create({'name': 'Spare', 'min_score': 95, 'sequence': 5})
        self.env.cr.execute(SQL('UPDATE crm_lead_score_history SET old_tier_id = %s WHERE id = %s', spare.id, row.id))
        row.invalidate_recordset()
        spare.unlink()
        self.assertFalse(row.old_tier_id)
        self.assertEqual(row.new_tier_id, self.tier_a, 'the other tier stays')

    def test_autovacuum_removes_dangling_rows(self):
        """A lead deleted by SQL (another module, a script) leaves rows the autovacuum removes."""
        lead, other = self._classified_lead(self._scored_lead()), self._scored_lead()
        history = self.env['crm.lead.score.history'].with_context(active_test=False)
        rows = lead.score_history_ids
        class_rows = lead.classification_history_ids
        other_rows = other.score_history_ids
        spare = self.env['crm.lead.tier'].create({'name': 'Spare', 'min_score': 95, 'sequence': 5})
        self.env.cr.execute(SQL('UPDATE crm_lead_score_history SET new_tier_id = %s WHERE id = %s',
                                spare.id, other_rows[0].id))
        self.env.flush_all()
        self.env.cr.execute(SQL('DELETE FROM crm_lead_tier WHERE id = %s', spare.id))
        self.env.cr.execute(SQL('DELETE FROM crm_lead WHERE id = %s', lead.id))
        self.env.invalidate_all()
        history._gc_dangling_references()
        self.env['crm.lead.classification.history']._gc_dangling_references()
        self.assertFalse(rows.exists())
        self.assertFalse(class_rows.exists())
        self.assertEqual(other_rows.exists(), other_rows)
        self.assertFalse(other_rows[0].new_tier_id)
