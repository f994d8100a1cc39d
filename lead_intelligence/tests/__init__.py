from . import test_fit_rules
from . import test_tiers
from . import test_scoring
from . import test_performance
from . import test_settings
from . import test_multi_company
from . import test_concurrency
from . import test_ui
