from . import crm_lead_scoring_model
from . import crm_lead_scoring_model_training
from . import crm_lead_scoring_model_calibration
from . import crm_lead_scoring_model_tier
from . import crm_lead
