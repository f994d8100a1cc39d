from . import test_mailing_events
from . import test_nurture_lists
