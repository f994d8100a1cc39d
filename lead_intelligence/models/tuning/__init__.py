from . import crm_lead
from . import crm_lead_tuning
from . import crm_lead_tuning_line
from . import crm_lead_tuning_tier
from . import crm_lead_tuning_history
