from .rules import crm_lead_scoring_config
from .scoring import crm_lead_tier
from .rules import crm_lead_domain_rule
from .scoring import crm_lead_score_history
from .scoring import crm_lead_score_run
from .scoring import crm_lead_score
from .prediction import crm_lead_scoring_model
from .prediction import crm_lead_scoring_model_training
from .prediction import crm_lead_scoring_model_calibration
from .prediction import crm_lead_scoring_model_tier
from .events import crm_lead_event_type
from .events import crm_lead_event
from .events import crm_lead_event_queue
from .events import crm_lead_engagement
from .classification import crm_lead_classification
from .rules import crm_lead_rule_source
from .classification import crm_lead_classification_alert
from .scoring import crm_lead
from .prediction import crm_lead as crm_lead_predict
from .classification import crm_lead as crm_lead_classify
from .classification import crm_lead_company_size
from .routing import crm_team_member_capacity
from .routing import crm_team_member
from .routing import crm_lead_routing_rule
from .routing import crm_lead_routing_history
from .routing import crm_lead as crm_lead_routing
from .routing import crm_team
from . import res_config_settings
from .events import mail_activity
from .events import calendar_event
