#!/usr/bin/env bash
# `make run`: Odoo with lead_intelligence and demo data on http://127.0.0.1:8069.
# The database (LI_DB, default lead_intelligence) is created on the first run and the addon
# updated on the next ones. `scripts/run.sh --drop` deletes the database and its files instead.
#
# Environment (and those of scripts/setup.sh):
#   LI_DB           database name (default lead_intelligence)
#   LI_HTTP_PORT    HTTP port, on 127.0.0.1 only (default 8069)
#   LI_WORKERS      0 (default): one threaded process, as for development; N > 0: N HTTP worker
#                   processes, cron worker processes and the long-polling (gevent) process, as in
#                   production (`LI_WORKERS=2 make run`)
#   LI_CRON_THREADS cron threads, or cron worker processes when LI_WORKERS > 0 (default 2)
#   LI_GEVENT_PORT  port of the long-polling process when LI_WORKERS > 0 (default 8072)
set -euo pipefail
# shellcheck source=scripts/setup.sh
. "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

LI_DB=${LI_DB:-lead_intelligence}
LI_HTTP_PORT=${LI_HTTP_PORT:-8069}
LI_WORKERS=${LI_WORKERS:-0}
LI_CRON_THREADS=${LI_CRON_THREADS:-2}
LI_GEVENT_PORT=${LI_GEVENT_PORT:-8072}
MODULE=lead_intelligence

# Prints "installed", "absent" (no such database) or "missing" (database without the addon).
li_db_state() {
    "$LI_PYTHON" - "$LI_DB" "$MODULE" <<'EOF'
import sys

import psycopg2

db, module = sys.argv[1:]
with psycopg2.connect(dbname='postgres') as cnx, cnx.cursor() as cr:
    cr.execute('SELECT 1 FROM pg_database WHERE datname = %s', [db])
    exists = cr.fetchone()
cnx.close()
if not exists:
    print('absent')
    sys.exit()
with psycopg2.connect(dbname=db) as cnx, cnx.cursor() as cr:
    cr.execute("SELECT to_regclass('ir_module_module') IS NOT NULL")
    state = None
    if cr.fetchone()[0]:
        cr.execute('SELECT state FROM ir_module_module WHERE name = %s', [module])
        state = (cr.fetchone() or [None])[0]
cnx.close()
print('installed' if state == 'installed' else 'missing')
EOF
}

li_setup
if [ "$LI_ODOO" != 1 ]; then
    li_banner "Odoo 19 was NOT found (ODOO_PATH=$ODOO_PATH): cannot run." \
              "Point ODOO_PATH at an Odoo 19 checkout, or let scripts/setup.sh clone it there."
    exit 1
fi

if [ "${1:-}" = --drop ]; then
    li_log "dropping the database $LI_DB and its files"
    "$LI_PYTHON" "$ODOO_BIN" db "${LI_DB_ARGS[@]}" --data-dir="$LI_LOCAL/data" drop "$LI_DB"
    exit
fi

case $(li_db_state) in
    installed)
        li_log "updating $MODULE in the database $LI_DB"
        li_odoo_bin -d "$LI_DB" -u "$MODULE" --stop-after-init --no-http
        ;;
    *)
        li_log "installing $MODULE with demo data in the database $LI_DB (a few minutes)"
        li_odoo_bin -d "$LI_DB" -i "$MODULE" --with-demo --stop-after-init --no-http
        ;;
esac

cat <<EOF

    Odoo with lead_intelligence: http://127.0.0.1:$LI_HTTP_PORT
    Log in as admin, password admin, and open CRM: the demo leads are scored and tiered.
    Stop with Ctrl-C.

EOF
li_odoo_bin -d "$LI_DB" --db-filter="^$LI_DB\$" --http-interface=127.0.0.1 --http-port="$LI_HTTP_PORT" \
    --workers="$LI_WORKERS" --max-cron-threads="$LI_CRON_THREADS" --gevent-port="$LI_GEVENT_PORT"
