from . import base_automation
from . import crm_lead
