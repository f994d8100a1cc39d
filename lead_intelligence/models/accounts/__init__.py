from . import res_partner
from . import crm_lead_account_history
from . import crm_lead
