"""What the passes, the model and the views need to know about a lead field, declared once.

One module-level table rather than parameters on the fields: most facts are
about fields crm declares (``stage_id``, ``probability``, ``date_closed``), and
some readers need them at import time, before any registry exists (the model's
features). A field's facts are the flags of its row; the sets the passes read
are derived from them below. The addon's behaviour counters are its own fields:
each declares what an event adds to it on the field itself (``counter=COUNT``),
so adding a counter touches its field, not this table.
"""

# its change cannot move a score: writing it does not mark the lead dirty
NOT_SCORED = 'not_scored'
# a scoring pass moves it, or a job writes it by SQL: a classification rule cannot rely on it
# between two writes of the lead (the dimensions the rules set are unstable too, see classification)
UNSTABLE = 'unstable'
# written by the scoring pass: a classification rule reading it is matched after the pass's scores
# (classification/crm_lead.py), not before them
SCORED = 'scored'
# known only once the lead is won or lost, or set by someone knowing how it goes: never a model feature
OUTCOME = 'outcome'
# written with the behaviour counters by the events pass, which rescores every lead it counts at once
COUNTED = 'counted'
# a behaviour counter an event type may feed: each counted event adds one (COUNT) or its value (VALUE);
# a counter declares it on its own field (``counter=COUNT``, see events/crm_lead.py), not in the table
COUNT = 'count'
VALUE = 'value'

LEAD_FIELD_FACTS = {
    # crm's outcome, stage and probability
    'stage_id': {OUTCOME},
    'date_closed': {OUTCOME},
    'lost_reason_id': {OUTCOME},
    # crm's predictive scoring writes both by SQL (its nightly cron): the trigger of crm.lead's
    # _init_dirty_triggers flags the leads whose probability it changed, so a rule may rely on them
    'probability': {OUTCOME},
    'automated_probability': {OUTCOME},
    'won_status': {OUTCOME},
    'date_last_stage_update': {OUTCOME},
    'active': {OUTCOME},
    'day_close': {OUTCOME},
    'day_open': {OUTCOME},
    'date_conversion': {OUTCOME},
    'priority': {OUTCOME},
    # crm's and mail's bookkeeping
    'color': {NOT_SCORED},
    'date_automation_last': {NOT_SCORED},
    'message_follower_ids': {NOT_SCORED},
    'activity_ids': {NOT_SCORED},
    'message_ids': {NOT_SCORED},
    'duplicate_lead_ids': {NOT_SCORED},
    'duration_tracking': {NOT_SCORED},
    # the addon's scores and what they are made of
    'score_line_id': {NOT_SCORED, UNSTABLE, SCORED},
    'score_dirty': {NOT_SCORED, UNSTABLE},
    'score_flag': {NOT_SCORED, UNSTABLE},
    'score_date': {NOT_SCORED, SCORED},
    'fit_score': {NOT_SCORED, OUTCOME, SCORED},
    'score': {NOT_SCORED, OUTCOME, SCORED},
    'tier_id': {NOT_SCORED, UNSTABLE, OUTCOME, SCORED},
    'engagement_score': {NOT_SCORED, SCORED},
    'model_probability': {NOT_SCORED, OUTCOME, SCORED},
    'model_score': {NOT_SCORED, OUTCOME, SCORED},
    'sales_stage_class': {OUTCOME},
    'lifecycle_stage': {OUTCOME},
    'intent_level': {OUTCOME},
    # behaviour: the event log, and the date of the latest counted event
    'event_ids': {NOT_SCORED},
    'last_engagement_date': {COUNTED},
    # the account's figures, rolled up from all its open leads after the passes (accounts/)
    'account_score': {NOT_SCORED, UNSTABLE},
    'account_tier_id': {NOT_SCORED, UNSTABLE},
    # the nearest segment, written by the passes (segmentation/)
    'cluster_id': {NOT_SCORED, UNSTABLE},
    # RFM and ABC, refreshed in SQL before each full pass (segmentation/)
    'rfm_recency': {NOT_SCORED, UNSTABLE},
    'rfm_frequency': {NOT_SCORED, UNSTABLE},
    'rfm_monetary': {NOT_SCORED, UNSTABLE},
    'rfm_segment': {NOT_SCORED, UNSTABLE},
    'abc_class': {NOT_SCORED, UNSTABLE},
    # the top content topics, written with the events' counting and before each full pass (interest/)
    'topic_ids': {NOT_SCORED, UNSTABLE},
    'topic_interest_ids': {NOT_SCORED, UNSTABLE},
}

# How a rule reads the records of a model through the lead's links (a path such as ``country_id.code``,
# ``tag_ids.name``, or a sub-condition ``any``):
# READ: it may;
READ = 'read'
# WATCHED: it may, and editing or deleting one of the model's records, which changes no lead row,
# starts the pass a configuration change starts (see _is_stable on classification rules)
WATCHED = 'watched'
# The records a rule may read through the lead's links: what the lead links to, shared or of the
# lead's own company; never users, other leads or anyone's private records. Read by the rules'
# checks (crm.lead.domain.rule._check_rule_link, whose refusal names them in words), the
# classification rules' stability and the rule sources (rules/crm_lead_rule_source.py).
RULE_PATH_MODELS = {
    'crm.stage': WATCHED,
    'crm.tag': WATCHED,
    'crm.team': WATCHED,
    'res.country': WATCHED,
    'res.country.state': WATCHED,
    'res.lang': WATCHED,
    'res.partner.industry': WATCHED,
    'utm.source': WATCHED,
    'utm.medium': WATCHED,
    'utm.campaign': WATCHED,
    'res.partner': READ,
    'res.partner.category': READ,
    'res.partner.title': READ,
    'res.currency': READ,
    'res.company': READ,
    'crm.lost.reason': READ,
    'crm.lead.class': READ,
    'crm.lead.tier': READ,
    'crm.lead.score': READ,
}


def fields_with(fact):
    """The names of the lead fields declared with ``fact``."""
    return frozenset(name for name, facts in LEAD_FIELD_FACTS.items() if fact in facts)


FIELDS_NOT_SCORED = fields_with(NOT_SCORED)
UNSTABLE_FIELDS = fields_with(UNSTABLE)
OUTCOME_FIELDS = fields_with(OUTCOME)
SCORED_FIELDS = fields_with(SCORED)
COUNTED_FIELDS = fields_with(COUNTED)
# the models whose records' edits reclassify the leads, in the order of RULE_PATH_MODELS
WATCHED_MODELS = tuple(model for model, reading in RULE_PATH_MODELS.items() if reading == WATCHED)
