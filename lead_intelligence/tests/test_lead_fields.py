from odoo.tests import TransactionCase, tagged

from ..models import lead_fields
from ..models.classification.crm_lead import UNSTABLE_FIELDS
from ..models.crm_lead import FIELDS_NOT_SCORED
from ..models.events.crm_lead import COUNTER_FIELDS
from ..models.prediction.crm_lead_scoring_model import LEAKING_FIELDS, MODEL_FEATURES

COUNTERS = [
    'visit_count', 'time_on_site', 'key_page_count', 'download_count', 'webinar_count', 'email_open_count',
    'email_click_count', 'email_reply_count', 'form_count', 'call_count', 'meeting_count', 'buying_signal_count',
]


@tagged('lead_intelligence', 'post_install', '-at_install')
class TestLeadFields(TransactionCase):
    """The sets the passes read, derived from lead_fields, are the ones they used to spell out."""

    def test_derived_sets(self):
        # the segmentation's fields, written by the passes and their refreshes
        segmentation = {'account_score', 'account_tier_id', 'cluster_id', 'rfm_recency', 'rfm_frequency',
                        'rfm_monetary', 'rfm_segment', 'abc_class', 'topic_ids', 'topic_interest_ids'}
        self.assertEqual(FIELDS_NOT_SCORED - segmentation, {
            'score_line_id', 'fit_score', 'score', 'tier_id', 'score_date', 'score_dirty', 'score_flag',
            'color', 'date_automation_last', 'message_follower_ids',
            'activity_ids', 'message_ids', 'duplicate_lead_ids', 'duration_tracking', 'engagement_score', 'event_ids',
            'model_probability', 'model_score'})
        self.assertLessEqual(segmentation, FIELDS_NOT_SCORED & UNSTABLE_FIELDS)
        self.assertEqual(UNSTABLE_FIELDS - segmentation, {
            'tier_id', 'score_dirty', 'score_flag', 'score_line_id', 'industry_id', 'company_size', 'job_level',
            'source_type', 'sales_stage_class', 'intent_level', 'lifecycle_stage', 'class_ids'})
        self.assertEqual(LEAKING_FIELDS, {
            'stage_id', 'date_closed', 'lost_reason_id', 'probability', 'automated_probability', 'won_status',
            'date_last_stage_update', 'active', 'day_close', 'day_open', 'date_conversion', 'priority', 'score',
            'fit_score', 'tier_id', 'sales_stage_class', 'lifecycle_stage', 'intent_level', 'model_probability',
            'model_score'})
        self.assertEqual(lead_fields.SCORED_FIELDS, {
            'score_line_id', 'score_date', 'fit_score', 'score', 'tier_id', 'engagement_score', 'model_probability',
            'model_score'})
        self.assertEqual(lead_fields.WATCHED_MODELS, (
            'crm.stage', 'crm.tag', 'crm.team', 'res.country', 'res.country.state', 'res.lang',
            'res.partner.industry', 'utm.source', 'utm.medium', 'utm.campaign'))

    def test_counters(self):
        """One list of counters, in one order: the fields declared with ``counter``, the event job's,
        the model's features', the event types' choices."""
        self.assertEqual(list(COUNTER_FIELDS.items())[:len(COUNTERS)],
                         [(name, 'value' if name == 'time_on_site' else 'count') for name in COUNTERS])
        features = [feature for feature in MODEL_FEATURES if feature['name'] in COUNTER_FIELDS]
        self.assertEqual([(feature['name'], feature['kind']) for feature in features],
                         [(name, 'log' if mode == 'value' else 'number') for name, mode in COUNTER_FIELDS.items()])
        selection = self.env['crm.lead.event.type']._fields['counter_field']._description_selection(self.env)
        self.assertEqual([value for value, _label in selection], list(COUNTER_FIELDS))
        self.assertEqual({name: self.env['crm.lead']._fields[name].counter for name in COUNTER_FIELDS}, COUNTER_FIELDS)

    def test_declared_fields_exist(self):
        Lead = self.env['crm.lead']
        self.assertFalse(set(lead_fields.LEAD_FIELD_FACTS) - set(Lead._fields))
        for name in COUNTER_FIELDS:
            self.assertTrue(Lead._fields[name].system_owned, name)
        self.assertEqual(set(self.env['crm.lead.rule.source']._inherit_children), set(lead_fields.WATCHED_MODELS))
