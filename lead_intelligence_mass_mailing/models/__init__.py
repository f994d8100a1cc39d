from . import crm_lead
from . import crm_lead_event
from . import mailing_trace
