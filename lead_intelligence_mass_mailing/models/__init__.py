from . import crm_lead
from . import crm_lead_event
from . import crm_lead_nurture_list
from . import crm_lead_tier
from . import mailing_subscription
from . import mailing_trace
