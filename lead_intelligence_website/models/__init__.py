from . import crm_lead_event
from . import crm_lead_visitor_link
from . import website_page
from . import website_track
