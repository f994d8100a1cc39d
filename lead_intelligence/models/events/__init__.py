from . import crm_lead_event_type
from . import crm_lead_event
from . import crm_lead_event_queue
from . import crm_lead_engagement
from . import crm_lead
from . import mail_activity
from . import calendar_event
