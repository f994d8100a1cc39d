"""Locate Odoo and open an environment on a database, with Odoo used as a library.

Odoo is imported from ``ODOO_PATH`` (default ``/opt/odoo``) only when
:func:`environment` is called, so modules that merely need the paths (the
orchestrator, the SQL floor) stay light.
"""

import contextlib
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
ODOO_PATH = Path(os.environ.get("ODOO_PATH", "/opt/odoo"))


def addons_path():
    """Odoo's own addons followed by this repository (an addons path itself)."""
    return f"{ODOO_PATH / 'addons'},{REPO_ROOT}"


def odoo_bin_command(db, *args):
    """Command line running ``odoo-bin`` with this interpreter on ``db``."""
    return [
        sys.executable, str(ODOO_PATH / "odoo-bin"),
        "-d", db, f"--addons-path={addons_path()}", "--log-level=warn", *args,
    ]


@contextlib.contextmanager
def environment(db, log_level="info"):
    """Yield a superuser ``odoo.api.Environment`` on ``db``; the caller commits."""
    sys.path.insert(0, str(ODOO_PATH))
    # Odoo is only importable once ODOO_PATH is on sys.path
    import odoo
    from odoo.modules.registry import Registry
    from odoo.service.server import load_server_wide_modules

    odoo.tools.config.parse_config(
        ["-d", db, f"--addons-path={addons_path()}", f"--log-level={log_level}"],
        setup_logging=True,
    )
    load_server_wide_modules()
    registry = Registry(db)
    with registry.cursor() as cr:
        yield odoo.api.Environment(cr, odoo.api.SUPERUSER_ID, {})
