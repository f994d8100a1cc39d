import json
from unittest.mock import patch

import numpy as np

from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import tagged
from odoo.tools import SQL, mute_logger

from ..engine import model as engine_model
from ..models.prediction.crm_lead_scoring_model import TRAINED_FIELDS
from .common import TestLeadIntelligenceCommon
from .test_model import HISTORY_SIZE, create_history


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestScoringModelSafety(TestLeadIntelligenceCommon):
    """A model document that cannot be used stays its company's problem; only a training writes one."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._activate_multi_company()
        cls.env['ir.config_parameter'].sudo().set_param('lead_intelligence.weight_model', 50)
        cls.industry_good, cls.industry_other = cls.env['res.partner.industry'].create([
            {'name': 'Machine Building'}, {'name': 'Hospitality'}])
        cls.decision_maker, cls.student_list = cls.env['crm.lead.class'].create([
            {'name': 'Decision Maker'}, {'name': 'Student List'}])
        history = create_history(cls.env, HISTORY_SIZE, cls.company_main, cls.industry_good + cls.industry_other)
        # the classes are the strongest signal: most won leads are decision makers, most lost ones students
        won = history.filtered(lambda lead: lead.won_status == 'won')
        lost = history - won
        pairs = [(lead.id, cls.decision_maker.id) for lead in won[: len(won) * 9 // 10]]
        pairs += [(lead.id, cls.student_list.id) for lead in lost[: len(lost) * 9 // 10]]
        # without a company, the history is every company's: both companies train on it
        cls.env.execute_query(SQL(
            """INSERT INTO crm_lead_class_rel (lead_id, class_id) SELECT * FROM unnest(%s::int[], %s::int[]);
               UPDATE crm_lead SET company_id = NULL WHERE id = ANY(%s)""",
            [lead_id for lead_id, _class_id in pairs], [class_id for _lead_id, class_id in pairs], history.ids))
        history.invalidate_recordset()

    def _lead(self, company, classes=None):
        return self.env['crm.lead'].create({
            'name': f'{company.name} lead', 'company_id': company.id, 'industry_id': self.industry_good.id,
            'type': 'opportunity', 'team_id': False, 'user_id': False,
            # set by hand: the classification rules keep them
            'class_ids': [Command.set(classes.ids)] if classes else [], 'class_manual': bool(classes)})

    def _train(self, company):
        return self.env['crm.lead.scoring.model'].with_company(company)._train_model()

    def test_classes_among_the_factors_are_named(self):
        """A class (many2many) among the shown factors is named on the lead form."""
        model = self._train(self.company_main)
        self.assertEqual(model.state, 'active')
        lead = self._lead(self.company_main, self.decision_maker)
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        config = self.env['crm.lead']._get_scoring_config()
        explained = self.env['crm.lead']._explain_model(
            np.array(lead.ids), np.array(lead.company_id.ids), config, top=50)[lead.id]
        factors = dict(explained['factors'])
        self.assertGreater(factors['Classes: Decision Maker'], 0)
        text = str(lead.score_explanation)
        self.assertIn('Classes: Decision Maker', text)
        self.assertIn(f'model {lead.model_score} = {lead.score}', text)

    def test_a_broken_model_of_one_company_leaves_the_others(self):
        model_main = self._train(self.company_main)
        model_2 = self._train(self.company_2)
        self.assertEqual((model_main.state, model_2.state), ('active', 'active'))
        lead_main, lead_2 = self._lead(self.company_main), self._lead(self.company_2)
        document = json.loads(model_2.parameters)
        if model_2.algorithm == 'hgb':
            # an index too large for any array, at a leaf, where no split reads it
            tree = document['hgb']['trees'][0]
            tree['feature_idx'] = [10 ** 20 if leaf else index
                                   for leaf, index in zip(tree['is_leaf'], tree['feature_idx'], strict=True)]
        else:
            document['logreg']['coef'][0] = 10 ** 400  # a number too large for a float
        too_large = json.dumps(document)
        document['reference'] = 'DEEP'
        too_deep = json.dumps(document).replace('"DEEP"', '[' * 5000 + ']' * 5000)
        for broken in (too_large, too_deep):
            # written in the database as it stands, the way an older or tampered document would be
            self.env.flush_all()
            self.env.execute_query(SQL(
                'UPDATE crm_lead_scoring_model SET parameters = %s WHERE id = %s', broken, model_2.id))
            model_2.invalidate_recordset()
            self.env.registry.clear_cache()
            with mute_logger('odoo.addons.lead_intelligence.models.prediction.crm_lead'):
                self.env['crm.lead']._score_leads((lead_main + lead_2).ids, 'manual')
                self.assertTrue(lead_main.model_probability)
                self.assertFalse(lead_2.model_probability)
                self.assertEqual(lead_2.score, lead_2.fit_score)
                self.assertIn(f'model {lead_main.model_score} = {lead_main.score}', str(lead_main.score_explanation))
                # the lead form says why, and shows the rest
                text = str(lead_2.score_explanation)
            self.assertIn(f'The lead scoring model {model_2.name} cannot be used', text)
            self.assertIn(f'fit {lead_2.fit_score}', text)
            self.assertNotIn('model 0', text)
            # the model shows it, to its company's managers and in the settings
            self.assertIn('not a valid lead scoring model', model_2.load_error)
            self.assertEqual(model_2.with_user(self.user_sales_manager_mc).with_context(
                allowed_company_ids=self.company_2.ids).load_error, model_2.load_error)
            self.assertFalse(model_main.load_error)
            status = self.env['res.config.settings'].with_company(self.company_2).create({})
            self.assertIn('cannot be used', status.lead_intelligence_model_status)

    def test_a_model_that_cannot_explain_leaves_the_rest_of_the_explanation(self):
        self._train(self.company_main)
        lead = self._lead(self.company_main)
        self.env['crm.lead']._score_leads(lead.ids, 'manual')
        self.assertTrue(lead.model_probability)
        with patch.object(engine_model.ScoringModel, 'explain', side_effect=MemoryError('out of memory')), \
                mute_logger('odoo.addons.lead_intelligence.models.prediction.crm_lead'):
            text = str(lead.score_explanation)
        self.assertIn('cannot explain this lead', text)
        self.assertIn('Fit points', text)
        self.assertIn(f'model {lead.model_score} = {lead.score}', text)

    def test_a_model_that_cannot_predict_leaves_the_other_companies(self):
        self._train(self.company_main)
        engine_2 = self._train(self.company_2)._get_engine_model()
        lead_main, lead_2 = self._lead(self.company_main), self._lead(self.company_2)
        predict = engine_model.ScoringModel.predict_proba

        def predict_but_company_2(engine, columns):
            if engine is engine_2:
                raise MemoryError('out of memory')
            return predict(engine, columns)

        with patch.object(engine_model.ScoringModel, 'predict_proba', predict_but_company_2), \
                mute_logger('odoo.addons.lead_intelligence.models.prediction.crm_lead'):
            self.env['crm.lead']._score_leads((lead_main + lead_2).ids, 'manual')
        self.assertTrue(lead_main.model_probability)
        self.assertFalse(lead_2.model_probability)
        self.assertEqual(lead_2.score, lead_2.fit_score)

    def test_trained_fields_are_written_by_training_only(self):
        """Not even an administrator writes a model's parameters or figures, whatever the context."""
        model = self.env['crm.lead.scoring.model'].with_user(self.user_sales_manager)._train_model()
        self.assertTrue(model.parameters)
        admin = self.env.ref('base.user_admin')
        as_admin = model.with_user(admin).with_context(lead_intelligence_training=True, install_mode=True)
        document = json.loads(model.parameters)
        document['reference'] = [0.0] * len(document['reference'])
        values = {
            'parameters': json.dumps(document), 'roc_auc': 0.99, 'n_won': 1, 'company_id': self.company_2.id,
            'date_to': fields.Datetime.now(), 'hyperparameters': 'C=9', 'calibration_ids': [(5, 0, 0)],
        }
        self.assertLessEqual(set(values), TRAINED_FIELDS)
        for name, value in values.items():
            with self.assertRaises(AccessError), self.env.cr.savepoint():
                as_admin.write({name: value})
        with self.assertRaises(AccessError), self.env.cr.savepoint():
            as_admin.copy()
        with self.assertRaises(AccessError), self.env.cr.savepoint():
            model.calibration_ids[:1].with_user(admin).write({'observed': 1.0})
        with self.assertRaises(AccessError), self.env.cr.savepoint():
            model.tier_stat_ids[:1].with_user(admin).write({'lift': 9.0})
        self.assertNotEqual(model.roc_auc, 0.99)
        # a manager still decides which model is active, and archives
        as_admin.action_retire()
        self.assertEqual(model.state, 'retired')
        as_admin.action_activate()
        self.assertEqual(model.state, 'active')
