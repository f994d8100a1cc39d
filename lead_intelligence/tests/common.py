from contextlib import contextmanager
from unittest.mock import patch

from odoo.exceptions import ValidationError

from odoo.addons.crm.tests.common import TestCrmCommon


class TestLeadIntelligenceCommon(TestCrmCommon):
    """crm's own test fixtures, with a small known set of rules and tiers.

    The default rules and tiers shipped in data/ are archived so that every
    expected score below can be computed by hand.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        params = cls.env['ir.config_parameter'].sudo()
        params.set_param('lead_intelligence.score_on_save', 'now')
        # profile fit only, unless a test says otherwise: expected scores are the fit scores
        params.set_param('lead_intelligence.weight_fit', 100)
        params.set_param('lead_intelligence.weight_engagement', 0)
        cls.env['crm.lead.fit.rule'].search([]).action_archive()
        cls.rule_revenue = cls.env['crm.lead.fit.rule'].create({
            'name': 'Big deal', 'domain': "[('expected_revenue', '>=', 50000)]", 'points': 40, 'sequence': 1,
        })
        cls.rule_ceo = cls.env['crm.lead.fit.rule'].create({
            'name': 'CEO or 总经理', 'domain': "['|', ('function', 'ilike', 'CEO'), ('function', 'ilike', '总经理')]",
            'points': 30, 'sequence': 2,
        })
        cls.rule_student = cls.env['crm.lead.fit.rule'].create({
            'name': 'Student', 'domain': "[('function', 'ilike', 'student')]", 'points': -20, 'sequence': 3,
        })
        cls.rule_phone = cls.env['crm.lead.fit.rule'].create({
            'name': 'Phone given', 'domain': "[('phone', '!=', False)]", 'points': 10, 'sequence': 4,
        })
        Tier = cls.env['crm.lead.tier']
        Tier.search([]).action_archive()
        cls.tier_d = Tier.create({'name': 'Cold', 'min_score': 0, 'sequence': 40})
        cls.tier_c = Tier.create({'name': 'Lukewarm', 'min_score': 30, 'sequence': 30})
        cls.tier_b = Tier.create({'name': 'Warm', 'min_score': 50, 'sequence': 20})
        cls.tier_a = Tier.create({'name': 'Hot', 'min_score': 75, 'sequence': 10})
        # every lead created before the tests starts scored, so tests see only their own changes
        cls.env['crm.lead']._score_leads(cls.env['crm.lead'].with_context(active_test=False).search([]).ids, 'manual')

    def _create_lead(self, **values):
        return self.env['crm.lead'].create({'name': 'Lead', 'team_id': self.sales_team_1.id, **values})

    @contextmanager
    def assertRefused(self, message):
        """The block raises a ValidationError matching ``message`` and changes nothing."""
        with self.assertRaisesRegex(ValidationError, message), self.env.cr.savepoint():
            yield
        self.env.invalidate_all()

    @contextmanager
    def _mock_commit_progress(self):
        """Run crons' chunk commits as no-ops (tests cannot commit) and count them."""
        calls = []

        def commit_progress(cron, processed=0, remaining=None, deactivate=False):
            calls.append(processed)
            return float('inf')

        with patch.object(type(self.env['ir.cron']), '_commit_progress', commit_progress):
            yield calls

    def _scored_full_pass(self):
        """Run the full pass as its job does; return the ids of the leads it scored and its run."""
        Lead = self.env['crm.lead']
        scored = []
        original = type(Lead)._compute_scores

        def computing(model, state, *args, **kwargs):
            scored.extend(state.id.tolist())
            return original(model, state, *args, **kwargs)

        with self._mock_commit_progress(), patch.object(type(Lead), '_compute_scores', computing):
            Lead._cron_rescore_all_leads()
        self.env.invalidate_all()
        return scored, self.env['crm.lead.score.run'].search([('state', '=', 'done')], order='id desc', limit=1)
