from . import test_page_view_events
