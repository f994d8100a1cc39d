from . import rfm
from . import res_partner
from . import crm_lead_cluster_run
from . import crm_lead_cluster
from . import crm_lead
