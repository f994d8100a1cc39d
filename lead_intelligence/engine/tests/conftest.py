"""Let the engine's tests import it as a top-level package, without Odoo."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
