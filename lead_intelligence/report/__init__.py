from . import crm_lead_classification_report
from . import crm_lead_routing_report
from . import crm_lead_tier_report
