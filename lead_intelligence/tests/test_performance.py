from unittest.mock import patch

import numpy as np

from odoo.fields import Domain
from odoo.tests import tagged
from odoo.tools import SQL

from .common import TestLeadIntelligenceCommon


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestQueryCounts(TestLeadIntelligenceCommon):
    """No query per lead: the cost of a batch does not grow with its size."""

    def _count_queries(self, function):
        self.env.flush_all()
        self.env.invalidate_all()
        before = self.cr.sql_log_count
        function()
        self.env.flush_all()
        return self.cr.sql_log_count - before

    def test_write_adds_no_query_per_lead(self):
        few = self.env['crm.lead'].create([{'name': f'Few {i}'} for i in range(2)])
        many = self.env['crm.lead'].create([{'name': f'Many {i}'} for i in range(40)])
        self.env['crm.lead']._score_leads((few + many).ids, 'manual')
        # the dirty flag rides in the UPDATE crm's write already runs
        for leads in (few, many):
            leads.invalidate_recordset()
        few_count = self._count_queries(lambda: few.write({'function': 'CEO'}))
        many_count = self._count_queries(lambda: many.write({'function': 'CEO'}))
        self.assertEqual(few_count, many_count)
        self.assertTrue(all(many.mapped('score_dirty')))

    def test_flagging_a_write_no_trigger_watches_costs_no_query(self):
        """A classification dimension (the industry) is read by no stable rule, as the passes write it
        too: no column trigger watches it; an ORM write of it still flags the leads, inside crm's own
        UPDATE (crm's query-count tests count it)."""
        industries = self.env['res.partner.industry'].create([{'name': f'Industry {i}'} for i in range(3)])
        leads = self.env['crm.lead'].create([{'name': f'Lead {i}', 'industry_id': industries[0].id}
                                             for i in range(20)])
        self.env['crm.lead']._score_leads(leads.ids, 'manual')
        self.assertFalse(any(leads.mapped('score_dirty')))
        self.assertTrue(all(leads.mapped('industry_manual')), 'set by hand: a new value leaves it as it is')
        watched = self.env['crm.lead']._get_dirty_watched_fields()
        self.assertNotIn('industry_id', watched)
        # the same write, were the industry watched by a trigger that does not exist: not flagged at all
        with patch.object(type(self.env['crm.lead']), '_get_dirty_watched_fields',
                          lambda _self: watched | {'industry_id'}):
            unflagged = self._count_queries(lambda: leads.write({'industry_id': industries[1].id}))
        self.assertFalse(any(leads.mapped('score_dirty')))
        flagged = self._count_queries(lambda: leads.write({'industry_id': industries[2].id}))
        self.assertTrue(all(leads.mapped('score_dirty')))
        self.assertEqual(flagged, unflagged)

    def test_scoring_costs_the_same_queries_for_10_or_200_leads(self):
        ten = self.env['crm.lead'].create([
            {'name': f'Ten {i}', 'function': 'CEO' if i % 2 else 'Student'} for i in range(10)])
        two_hundred = self.env['crm.lead'].create([
            {'name': f'Many {i}', 'function': 'CEO' if i % 2 else 'Student'} for i in range(200)])
        warm_up = self.env['crm.lead'].create([{'name': 'Warm-up', 'function': 'CEO'}])
        self.env['crm.lead']._score_leads(warm_up.ids, 'manual')  # registry caches filled once
        ten_count = self._count_queries(lambda: self.env['crm.lead']._score_leads(ten.ids, 'manual'))
        many_count = self._count_queries(lambda: self.env['crm.lead']._score_leads(two_hundred.ids, 'manual'))
        self.assertEqual(ten_count, many_count)
        self.assertTrue(all(two_hundred.mapped('tier_id')))

    def test_counting_costs_the_same_queries_for_50_or_200_events(self):
        warm_up = self.env['crm.lead'].create([{'name': 'Warm-up'}])
        few = self.env['crm.lead'].create([{'name': f'Few {i}'} for i in range(10)])
        many = self.env['crm.lead'].create([{'name': f'Many {i}'} for i in range(40)])
        self.env['crm.lead']._score_leads((warm_up + few + many).ids, 'manual')
        # some events of each batch capped, so that both batches run the same statements
        self.env['crm.lead.event.type'].search([]).write({'daily_cap': 1})
        Event = self.env['crm.lead.event']
        codes = ['visit', 'download', 'email_open', 'demo_request', 'call']

        def send(leads, count):
            return Event._ingest([
                {'type': codes[i % len(codes)], 'occurred_at': f'2026-01-05T{10 + i % 8:02d}:{i % 60:02d}:00Z',
                 'lead_id': leads[i % len(leads)].id, 'external_id': f'perf-{leads[0].name}-{i}', 'value': 60}
                for i in range(count)])

        config = self.env['crm.lead']._get_scoring_config()
        send(warm_up, 5)
        Event._count_chunk(warm_up.ids, config)
        self.assertEqual(self._count_queries(lambda: send(few, 50)), self._count_queries(lambda: send(many, 200)))
        few_count = self._count_queries(lambda: Event._count_chunk(few.ids, config))
        many_count = self._count_queries(lambda: Event._count_chunk(many.ids, config))
        self.assertEqual(few_count, many_count)
        self.assertEqual(sum(many.mapped('visit_count')), 8, 'one a day per lead: the 8 leads sent visits')
        self.assertEqual(Event.search_count([('lead_id', 'in', many.ids), ('filter_reason', '=', 'cap')]), 160)


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestIndexes(TestLeadIntelligenceCommon):
    """Every index of the addon's tables earns its cost: the passes insert rows by the hundred thousand."""

    def test_lead_pages_leave_room_for_updates_in_place(self):
        """A fifth of each new page of crm_lead stays free: the addon's bulk updates of leads (the
        counters an event adds, a tier move) keep the row's new version in its page and write no
        index entry (a HOT update) instead of one per index of the table."""
        options = self.env.execute_query(SQL("SELECT reloptions FROM pg_class WHERE oid = 'crm_lead'::regclass"))
        self.assertIn('fillfactor=80', options[0][0])
        leads = self.env['crm.lead'].create([{'name': f'Page {i}', 'function': 'Buyer'} for i in range(300)])
        self.env.flush_all()

        def hot_updates():
            return self.env.execute_query(SQL(
                "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relid = 'crm_lead'::regclass"))[0]

        before = hot_updates()
        # one lead in ten, as the events reach a share of the open leads
        self.env.cr.execute("UPDATE crm_lead SET visit_count = COALESCE(visit_count, 0) + 1 WHERE id = ANY(%s)",
                            [leads.ids[::10]])
        updated, hot = (after - first for after, first in zip(hot_updates(), before, strict=True))
        self.assertEqual(updated, 30)
        self.assertGreaterEqual(hot, 15, 'most in place (none in full pages)')

    def test_no_index_is_the_start_of_another(self):
        """A plain btree index on columns another btree index of the table starts with serves no
        lookup the longer one does not (PostgreSQL walks the longer one's leading columns), and
        every insert pays for it."""
        tables = sorted({model._table for model in self.env.registry.values()
                         if model._original_module == 'lead_intelligence' and model._auto and not model._abstract})
        rows = self.env.execute_query(SQL(
            """SELECT t.relname, i.relname, x.indkey::int2[], x.indisunique, x.indpred IS NOT NULL,
                      x.indexprs IS NOT NULL
                 FROM pg_index x
                 JOIN pg_class i ON i.oid = x.indexrelid
                 JOIN pg_class t ON t.oid = x.indrelid
                 JOIN pg_am am ON am.oid = i.relam
                WHERE t.relname = ANY(%s) AND am.amname = 'btree'""", tables))
        self.assertIn('crm_lead_score_history', tables)
        redundant = [
            (table, name, longer)
            for table, name, keys, unique, partial, expression in rows
            if not unique and not partial and not expression
            for other_table, longer, other_keys, _unique, other_partial, other_expression in rows
            if other_table == table and longer != name and not other_partial and not other_expression
            and len(other_keys) > len(keys) and list(other_keys[:len(keys)]) == list(keys)
        ]
        self.assertEqual(redundant, [])

    def test_orphan_account_tiers_are_found_by_an_index(self):
        """The roll-up of every account clears the tier of the leads whose contact went: almost
        always none, found by a partial index rather than by reading every lead."""
        self.env.cr.execute('SET LOCAL enable_seqscan = off')
        plan = '\n'.join(row[0] for row in self.env.execute_query(SQL(
            'EXPLAIN UPDATE crm_lead SET account_tier_id = NULL '
            'WHERE partner_id IS NULL AND account_tier_id IS NOT NULL')))
        self.env.cr.execute('SET LOCAL enable_seqscan = on')
        self.assertIn('crm_lead_account_tier_orphan_index', plan)

    def test_scores_are_updated_in_place(self):
        """The narrow tables of scores and of engagement keep half of their pages free for the new
        versions of their rows: the updates of a pass or of the event job then write no index entry
        (HOT)."""
        for table in ('crm_lead_score', 'crm_lead_engagement'):
            options = self.env.execute_query(SQL(
                "SELECT reloptions FROM pg_class WHERE relname = %s AND relkind = 'r'", table))[0][0]
            self.assertIn('fillfactor=50', options or [], table)


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestRuleMatchingCost(TestLeadIntelligenceCommon):
    """What matching the rules costs a pass besides the database: each condition parsed once, each
    guard evaluated once per lead."""

    def test_a_list_of_leads_is_read_on_its_id_range(self):
        """The pass reads a list of a chunk's leads (to classify them, to predict) bounded by their
        smallest and largest ids as well: PostgreSQL reads the chunk's range of ``crm_lead`` through
        its primary key, where the list alone walked every lead, for every chunk."""
        leads = self.env['crm.lead'].create([{'name': f'Range {i}'} for i in range(4)])
        leads[1].action_archive()
        picked = leads[3] + leads[1] + leads[2]
        query = self.env['crm.lead']._query_leads(picked.ids)
        self.assertEqual(self.env['crm.lead'].browse(query), (leads[1] + leads[2] + leads[3]).sorted('id'),
                         'the leads given, archived ones included, in id order')
        where = query.where_clause
        self.assertIn('"crm_lead"."id" >= %s', where.code)
        self.assertIn('"crm_lead"."id" <= %s', where.code)
        self.assertIn(min(picked.ids), where.params)
        self.assertIn(max(picked.ids), where.params)
        self.assertFalse(self.env['crm.lead'].browse(self.env['crm.lead']._query_leads([])))
        self.assertEqual(self.env['crm.lead'].browse(self.env['crm.lead']._query_leads(np.array(picked.ids))),
                         picked.sorted('id'), 'the ids of an array as well')

    def test_the_flags_of_a_chunk_are_read_on_its_range(self):
        """The nightly pass finds a chunk's flagged leads from the flags of its id range."""
        leads = self.env['crm.lead'].create([{'name': f'Flag {i}'} for i in range(4)])
        self.env['crm.lead']._score_leads((leads[0] + leads[2]).ids, 'manual')
        self.assertEqual(leads.mapped('score_dirty'), [False, True, False, True])
        domain = self.env['crm.lead']._get_flagged_domain(leads[0].id - 1, leads[2].id)
        self.assertEqual(self.env['crm.lead'].search(domain), leads[1], 'flagged, and in the range')
        self.assertIn('lead_id > %s AND lead_id <= %s', self.env['crm.lead']._search(domain).where_clause.code)

    def test_a_rule_condition_is_parsed_once(self):
        """Each condition is parsed and checked once (when it is saved, or by the first pass that
        reads it), not by every pass and every chunk again."""
        rule = self.rule_ceo
        calls = []
        original = type(rule)._parse_domain

        def counting(self, *args, **kwargs):
            calls.append(self.id)
            return original(self, *args, **kwargs)

        lead = self._create_lead(function='CTO')
        with patch.object(type(rule), '_parse_domain', counting):
            rule.domain = "[('function', 'ilike', 'CTO')]"
            self.env.flush_all()
            calls.clear()
            for _pass in range(3):
                self.env['crm.lead']._score_leads(lead.ids, 'manual')
            self.assertEqual(rule._get_lead_domain(), Domain('function', 'ilike', 'CTO'))
            self.assertNotIn(rule.id, calls, 'parsed by the checks of the save')
            self.assertEqual(sorted(calls), sorted(set(calls)), 'no condition parsed twice')
            rule.domain = "[('function', 'ilike', 'CEO')]"
            self.env.flush_all()
            calls.clear()
            self.assertEqual(rule._get_lead_domain(), Domain('function', 'ilike', 'CEO'), 'a new condition is read')
        self.env.invalidate_all()
        self.assertEqual(lead.fit_score, 30)

    def test_a_guard_is_evaluated_once_per_lead(self):
        rules = self.rule_revenue | self.rule_ceo | self.rule_student | self.rule_phone
        query = self.env['crm.lead']._search([])
        [word] = rules._get_match_sql(query, SQL('(crm_lead.id <> 987654321)'), [0, 1, 3])
        self.assertEqual(word.code.count('987654321'), 1, word.code)
        leads = self._create_lead(function='CEO', phone='+1 555 0100', expected_revenue=90000) \
            | self._create_lead(function='Student')
        self.env.flush_all()
        matches = {lead_id: bits for lead_id, bits in self.env.execute_query(
            query.select(SQL('crm_lead.id'), word)) if lead_id in leads.ids}
        self.assertEqual(matches, {leads[0].id: 0b1011, leads[1].id: 0b0100})
        [word] = rules._get_match_sql(query, SQL('(crm_lead.id <> %s)', leads[0].id), [0, 1, 3])
        matches = dict(self.env.execute_query(query.select(SQL('crm_lead.id'), word)))
        self.assertEqual(matches[leads[0].id], 0, 'where the guard fails, the guarded rules match nothing')
