from . import crm_lead_classification_report
from . import crm_lead_routing_report
