from . import crm_lead_cluster_run
from . import crm_lead_cluster
from . import crm_lead
