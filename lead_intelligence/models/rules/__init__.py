from . import crm_lead_scoring_config
from . import crm_lead_domain_rule
from . import crm_lead_rule_source
