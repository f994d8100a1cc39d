from . import crm_lead_class
from . import crm_lead_classification_rule
from . import crm_lead_classification_history
from . import crm_lead_classification_snapshot
from . import crm_lead_company_size
from . import crm_lead
from . import crm_lead_completeness
