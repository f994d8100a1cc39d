from . import crm_lead_tier
from . import crm_lead_fit_rule
from . import crm_lead_score_history
from . import crm_lead_score_run
from . import crm_lead_score
from . import crm_lead
