from . import test_mailing_events
from . import test_nurture_lists
from . import test_topic_lists
