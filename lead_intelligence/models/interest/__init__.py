from . import crm_lead_topic
from . import crm_lead_topic_interest
from . import crm_lead_event
from . import crm_lead
