from . import test_mailing_events
