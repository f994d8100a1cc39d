from . import crm_team_member_capacity
from . import crm_team_member
from . import crm_lead_routing_rule
from . import crm_lead_routing_history
from . import crm_lead
from . import crm_team
