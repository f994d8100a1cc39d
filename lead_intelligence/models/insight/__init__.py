from . import crm_lead_tier
from . import crm_lead
from . import crm_lead_score_history
