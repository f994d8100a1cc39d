from . import crm_lead_classification
from . import crm_lead_classification_alert
from . import crm_lead_company_size
from . import crm_lead
