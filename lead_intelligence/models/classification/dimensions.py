"""The dimensions a lead is classified along and their values, shared by the classification's
models, its report and routing (this module holds no model)."""

# the dimensions a lead is classified along, with their values (industry and classes are records)
COMPANY_SIZES = [('small', 'Small'), ('medium', 'Medium'), ('large', 'Large')]
JOB_LEVELS = [('decision_maker', 'Decision Maker'), ('technical', 'Technical Lead'), ('procurement', 'Procurement'),
              ('manager', 'Manager'), ('staff', 'Staff')]
SOURCE_TYPES = [('internal', 'Internal'), ('external', 'External'), ('self_initiated', 'Self-Initiated')]
SALES_STAGE_CLASSES = [('potential', 'Potential'), ('intent', 'Intent'), ('negotiation', 'Negotiation')]
INTENT_LEVELS = [('high', 'High'), ('medium', 'Medium'), ('low', 'Low')]
LIFECYCLE_STAGES = [('cold', 'Cold'), ('mql', 'MQL'), ('sql', 'SQL'), ('hot', 'Hot')]
SELECTION_DIMENSIONS = {
    'company_size': COMPANY_SIZES,
    'job_level': JOB_LEVELS,
    'source_type': SOURCE_TYPES,
    'sales_stage_class': SALES_STAGE_CLASSES,
    'intent_level': INTENT_LEVELS,
    'lifecycle_stage': LIFECYCLE_STAGES,
}
# dimension -> the crm.lead field it fills
DIMENSION_FIELDS = {'industry': 'industry_id', **{name: name for name in SELECTION_DIMENSIONS}, 'class': 'class_ids'}
DIMENSIONS = [
    ('industry', 'Industry'), ('company_size', 'Company Size'), ('job_level', 'Job Level'),
    ('source_type', 'Source Type'), ('sales_stage_class', 'Sales Stage Class'), ('intent_level', 'Intent Level'),
    ('lifecycle_stage', 'Lifecycle Stage'), ('class', 'Class'),
]
CLASSIFICATION_CAUSES = [('rule', 'Rule'), ('event', 'New behaviour'), ('user', 'User'), ('import', 'Import')]
