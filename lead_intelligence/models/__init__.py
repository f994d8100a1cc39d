# The addon's models by stage of the lead's flow. The import order is the order in
# which the crm.lead extensions stack (the last one's methods run first):
# - crm_lead.py: what every stage builds on (system-owned fields, the dirty flag a write
#   sets, scoring on save). It comes first so that its write and create run innermost,
#   right around crm's: classification's and routing's wrap them, as they did when this
#   part lived with scoring (the user's classification history and routing's 'manual'
#   state are written after a form's scoring on save).
# - rules/: the shared bases: rules whose condition is a lead domain, the configuration
#   whose change rescores every lead, the records rules read through a path; before the
#   stages whose models inherit them.
# - then the stages in flow order: events (behaviour, engagement), classification,
#   scoring (the pass), prediction, routing (which implements the pass's tier-moves hook).
# - accounts/: the account score, rolled up from the leads after the pass (it wraps the pass).
# - segmentation/: RFM segments and ABC classes refreshed before each full pass, and segments of similar
#   leads found by clustering, kept by the passes (it wraps the pass).
# - interest/: content topics and each lead's decayed interest in them, folded in as events are counted.
# - crm_lead_demo.py: the demo database's configuration of every stage, last as it uses them all.
from . import crm_lead
from . import rules
from . import events
from . import classification
from . import scoring
from . import prediction
from . import routing
from . import res_config_settings
from . import insight
from . import tuning
from . import accounts
from . import segmentation
from . import interest
from . import crm_lead_demo
