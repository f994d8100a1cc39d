#!/usr/bin/env bash
# Prepare what `make run` and `make test` need: Odoo 19 sources, a Python virtualenv,
# a PostgreSQL server and Chromium (for the tours).
#
# Run it to prepare everything, or source it (`. scripts/setup.sh`) and call the li_setup_*
# functions to get the variables below:
#   LI_ROOT        repository root (also an Odoo addons path)
#   LI_PYTHON      python of the virtualenv
#   LI_ODOO        1 when Odoo sources were found (ODOO_BIN is then set), else 0
#   LI_DB_ARGS     array of --db_host/--db_port/--db_user options for odoo-bin
#   LI_CHROMIUM    path of the Chrome/Chromium executable, empty when missing
#
# Environment:
#   ODOO_PATH      Odoo 19 checkout, cloned there when missing (default /opt/odoo)
#   LI_VENV        virtualenv directory (default ~/.cache/lead_intelligence/venv)
#   LI_SKIP_ODOO   1 to work without Odoo (lint and engine tests only)
#   PGHOST/PGPORT/PGUSER  an existing PostgreSQL server to use
set -euo pipefail

LI_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LI_LOCAL=$LI_ROOT/.local
ODOO_PATH=${ODOO_PATH:-/opt/odoo}
ODOO_BRANCH=19.0
ODOO_REPOSITORY=https://github.com/odoo/odoo
LI_VENV=${LI_VENV:-$HOME/.cache/lead_intelligence/venv}
LI_PYTHON=$LI_VENV/bin/python
LI_USER=$(id -un)
LI_ODOO=0
LI_DB_ARGS=()
LI_CHROMIUM=

li_log() {
    printf '==> %s\n' "$*" >&2
}

li_banner() {
    local line
    printf '\n%s\n' '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!' >&2
    for line in "$@"; do
        printf '!!! %s\n' "$line" >&2
    done
    printf '%s\n\n' '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!' >&2
}

li_is_root() {
    [ "$(id -u)" = 0 ]
}

# Odoo -----------------------------------------------------------------------

li_setup_odoo() {
    if [ "${LI_SKIP_ODOO:-0}" = 1 ]; then
        li_log "LI_SKIP_ODOO=1: not using Odoo"
        return 0
    fi
    if [ ! -e "$ODOO_PATH" ]; then
        li_log "Odoo not found in $ODOO_PATH, cloning $ODOO_REPOSITORY ($ODOO_BRANCH)"
        if ! git clone --quiet --depth 1 -b "$ODOO_BRANCH" "$ODOO_REPOSITORY" "$ODOO_PATH"; then
            li_log "cloning Odoo failed"
            rm -rf "$ODOO_PATH"
            return 0
        fi
    fi
    if [ ! -f "$ODOO_PATH/odoo-bin" ]; then
        li_log "$ODOO_PATH/odoo-bin is missing: $ODOO_PATH is not an Odoo checkout"
        return 0
    fi
    ODOO_PATH=$(cd "$ODOO_PATH" && pwd)
    ODOO_BIN=$ODOO_PATH/odoo-bin
    LI_ODOO=1
}

# Python ---------------------------------------------------------------------

# Requirements of the virtualenv, one per line: Odoo's (without python-ldap, which needs the
# LDAP headers and is only used by auth_ldap) then ours.
li_requirements() {
    if [ "$LI_ODOO" = 1 ]; then
        grep -v '^python-ldap' "$ODOO_PATH/requirements.txt"
    fi
    cat "$LI_ROOT/requirements.txt" "$LI_ROOT/requirements-dev.txt"
}

li_setup_venv() {
    local stamp=$LI_VENV/.lead_intelligence-stamp digest requirements constraints
    if [ ! -x "$LI_PYTHON" ]; then
        li_log "creating virtualenv $LI_VENV"
        mkdir -p "$(dirname "$LI_VENV")"
        python3 -m venv "$LI_VENV"
    fi
    # One line per requirement set installed (with and without Odoo's): nothing to do if known.
    digest=$( { "$LI_PYTHON" --version; li_requirements; } | sha256sum | cut -d' ' -f1)
    if [ -f "$stamp" ] && grep -qx "$digest" "$stamp"; then
        return 0
    fi
    li_log "installing Python requirements into $LI_VENV"
    requirements=$(mktemp)
    constraints=$(mktemp)
    li_requirements >"$requirements"
    # cbor2 and others build with setuptools; 81 removed what their setup scripts use. The venv's
    # stock pip is kept on purpose: newer ones stop applying PIP_CONSTRAINT to build environments.
    echo 'setuptools<81' >"$constraints"
    if ! PIP_CONSTRAINT=$constraints "$LI_PYTHON" -m pip install --quiet --disable-pip-version-check \
            -r "$requirements"; then
        rm -f "$requirements" "$constraints"
        li_log "pip install failed"
        return 1
    fi
    rm -f "$requirements" "$constraints"
    if [ "$LI_ODOO" = 1 ] && ! li_gevent_loads; then
        li_banner "gevent cannot load its plugins in $LI_VENV:" \
                  "Odoo's long-polling process would not start with --workers (LI_WORKERS)."
    fi
    echo "$digest" >>"$stamp"
}

# True when Odoo's long-polling process (started with --workers) can start in the virtualenv: it
# patches the standard library with gevent, which loads its plugins and their dependencies first.
li_gevent_loads() {
    "$LI_PYTHON" -W ignore -c 'from gevent import monkey; monkey.patch_all()' >/dev/null 2>&1
}

# PostgreSQL -----------------------------------------------------------------

# True when the server answers and lets the current user in (libpq reads PGHOST, PGPORT, ...).
li_pg_connects() {
    "$LI_PYTHON" -c 'import psycopg2; psycopg2.connect(dbname="postgres").close()' >/dev/null 2>&1
}

li_pg_bindir() {
    local dir
    if command -v pg_ctl >/dev/null && command -v initdb >/dev/null; then
        dirname "$(command -v initdb)"
        return 0
    fi
    # Debian keeps the server programs out of PATH; take the newest.
    for dir in /usr/lib/postgresql/*/bin; do
        if [ -x "$dir/initdb" ]; then echo "$dir"; fi
    done | sort -V | tail -n 1 | grep .
}

# A cluster of our own under .local/pg, listening only on a unix socket.
li_pg_local_cluster() {
    local bindir data=$LI_LOCAL/pg/data socket=$LI_LOCAL/pg/run
    if ! bindir=$(li_pg_bindir); then
        li_log "no PostgreSQL server answers and initdb is not installed"
        return 1
    fi
    PATH=$bindir:$PATH
    # Unix socket paths are limited to 107 bytes.
    if [ ${#socket} -gt 80 ]; then
        socket=${TMPDIR:-/tmp}/li-pg-$(id -u)-$(echo "$LI_ROOT" | cksum | cut -d' ' -f1)
    fi
    mkdir -p "$socket"
    if [ ! -f "$data/PG_VERSION" ]; then
        li_log "creating a PostgreSQL cluster in $data"
        mkdir -p "$(dirname "$data")"
        initdb --auth=trust --username="$LI_USER" --encoding=UTF8 --locale=C -D "$data" >/dev/null
    fi
    export PGHOST=$socket PGPORT=${PGPORT:-5432} PGUSER=$LI_USER
    if ! pg_ctl -D "$data" status >/dev/null 2>&1; then
        li_log "starting PostgreSQL ($data)"
        pg_ctl -D "$data" -l "$LI_LOCAL/pg/server.log" -w \
            -o "-k $socket -p $PGPORT -c listen_addresses=''" start >/dev/null
    fi
}

li_setup_postgres() {
    if ! li_pg_connects && li_is_root && [ -d /etc/postgresql ] && command -v service >/dev/null; then
        if ! pg_isready -q; then
            li_log "starting the system PostgreSQL"
            service postgresql start >/dev/null
            pg_isready -q -t 30
        fi
        # Odoo refuses to connect as "postgres": give the current user a superuser role.
        su postgres -c "createuser -s '$LI_USER'" 2>/dev/null || true
    fi
    if ! li_pg_connects; then
        if li_is_root; then
            li_log "no usable PostgreSQL server (set PGHOST/PGPORT/PGUSER)"
            return 1
        fi
        li_pg_local_cluster
        li_pg_connects
    fi
    # libpq reads these too (and PGPASSWORD, ~/.pgpass: passwords stay off the command line).
    if [ -n "${PGHOST:-}" ]; then LI_DB_ARGS+=(--db_host "$PGHOST"); fi
    if [ -n "${PGPORT:-}" ]; then LI_DB_ARGS+=(--db_port "$PGPORT"); fi
    if [ -n "${PGUSER:-}" ]; then LI_DB_ARGS+=(--db_user "$PGUSER"); fi
    return 0
}

# Chromium -------------------------------------------------------------------

li_find_chromium() {
    # The names odoo.tests.common._find_executable() looks for, in its order.
    local name
    for name in google-chrome chromium chromium-browser google-chrome-stable; do
        if command -v "$name" >/dev/null; then
            command -v "$name"
            return 0
        fi
    done
    return 1
}

li_setup_chromium() {
    if ! LI_CHROMIUM=$(li_find_chromium) && li_is_root && command -v apt-get >/dev/null; then
        li_log "installing chromium for the tours"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null \
            || true
        LI_CHROMIUM=$(li_find_chromium) || true
    fi
    if [ -z "$LI_CHROMIUM" ]; then
        li_banner "Chrome/Chromium NOT FOUND: Odoo SKIPS every tour (browser) test." \
                  "Install chromium (Debian/Ubuntu: apt-get install chromium) and run again."
    fi
}

li_setup() {
    li_setup_odoo
    li_setup_venv
    if [ "$LI_ODOO" = 1 ]; then
        li_setup_postgres
        li_setup_chromium
    fi
}

# odoo-bin with the virtualenv and the database connection.
li_odoo_bin() {
    "$LI_PYTHON" "$ODOO_BIN" "$@" "${LI_DB_ARGS[@]}" \
        --addons-path="$ODOO_PATH/addons,$LI_ROOT" --data-dir="$LI_LOCAL/data"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    li_setup
    if [ "$LI_ODOO" = 1 ]; then
        li_log "ready: Odoo in $ODOO_PATH, Python $LI_PYTHON"
    else
        li_banner "Odoo 19 was NOT found (ODOO_PATH=$ODOO_PATH): only lint and engine tests can run."
    fi
fi
