#!/usr/bin/env bash
# `make bench`: bench/run.py with the virtualenv, Odoo and PostgreSQL of scripts/setup.sh.
# Usage: scripts/bench.sh SCENARIO --leads N [...]   (see python bench/run.py --help)
set -euo pipefail
# shellcheck source=scripts/setup.sh
. "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

li_setup
if [ "$LI_ODOO" != 1 ]; then
    li_banner "Odoo 19 was NOT found (ODOO_PATH=$ODOO_PATH): the benchmark needs it."
    exit 1
fi
export ODOO_PATH
exec "$LI_PYTHON" "$LI_ROOT/bench/run.py" "$@"
