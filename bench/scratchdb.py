"""Create, recognise and drop the scratch databases the benchmarks run on.

A scratch database holds ``lead_intelligence`` (no demo data), the fixtures and
the generated leads. It is marked with the ``bench.dataset`` system parameter
once complete, so that a later run reuses it; a database without the marker
is never touched, one with another data set is rebuilt.
"""

import ast
import contextlib
import json
import logging
import os
import subprocess
import sys
import time

import psycopg2
from psycopg2 import sql

from bench.leadgen import generate_leads
from bench.odoo_env import REPO_ROOT, odoo_bin_command

_logger = logging.getLogger(__name__)

MARKER = "bench.dataset"
OPEN_LEADS = sql.SQL("active AND won_status = 'pending'")  # what every full pass processes
# a lead of crm_lead flagged for lead_intelligence's scoring job (its row of crm_lead_dirty)
DIRTY = sql.SQL("EXISTS (SELECT 1 FROM crm_lead_dirty WHERE crm_lead_dirty.lead_id = crm_lead.id)")
# flag the leads of an int[] parameter, as crm.lead.write does
FLAG_DIRTY = sql.SQL("INSERT INTO crm_lead_dirty (lead_id) SELECT unnest(%s::int[]) "
                     "ON CONFLICT (lead_id) DO UPDATE SET flagged_at = EXCLUDED.flagged_at")


@contextlib.contextmanager
def cursor(db, autocommit=False):
    """A cursor on ``db`` with libpq's defaults (``PGHOST``, ``PGUSER``…, else the OS user); commits on success."""
    conn = psycopg2.connect(dbname=db)
    conn.autocommit = autocommit
    try:
        with conn.cursor() as cr:
            yield cr
        conn.commit()
    finally:
        conn.close()  # uncommitted work is rolled back


def run_worker(task, db, rules, params=None):
    """Run ``bench.worker TASK`` in a fresh interpreter and return the JSON it prints."""
    command = [sys.executable, "-m", "bench.worker", task, "--db", db, "--rules", str(rules)]
    if params:
        command += ["--params", json.dumps(params)]
    done = subprocess.run(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def database_exists(db):
    with cursor("postgres") as cr:
        cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db])
        return cr.fetchone() is not None


def dataset_marker(db):
    """The marker of a bench database, or None if ``db`` was not made by the bench."""
    with cursor(db) as cr:
        cr.execute("SELECT to_regclass('ir_config_parameter')")
        if cr.fetchone()[0] is None:
            return None
        cr.execute("SELECT value FROM ir_config_parameter WHERE key = %s", [MARKER])
        row = cr.fetchone()
        return row and row[0]


def set_marker(db, value):
    with cursor(db) as cr:
        cr.execute("INSERT INTO ir_config_parameter (key, value) VALUES (%s, %s) "
                   "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", [MARKER, value])


def drop_database(db):
    with cursor("postgres", autocommit=True) as cr:
        cr.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db)))
    _logger.info("dropped database %s", db)


def copy_database(source, target):
    """A new database ``target``, a copy of ``source`` (no session may be open on it)."""
    drop_database(target)
    with cursor("postgres", autocommit=True) as cr:
        cr.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(target), sql.Identifier(source)))


def vacuum(db, table="crm_lead", full=False):
    """VACUUM ANALYZE between measurements, so that none pays for the bloat of the one before.

    ``full`` rewrites the table compactly, as the generator left it: a reused
    database then starts a run in the same physical state as a new one.
    """
    options = sql.SQL("FULL, ANALYZE" if full else "ANALYZE")
    with cursor(db, autocommit=True) as cr:
        cr.execute(sql.SQL("VACUUM ({}) {}").format(options, sql.Identifier(table)))


def reuse_database(db, wanted, check=None):
    """Whether ``db`` already holds the data set ``wanted`` (its marker says so): then it is
    upgraded to the addon's version if needed and reused. A bench database holding another data
    set is dropped, to be rebuilt; one the bench did not make is never touched.

    :param check: optional ``check(marker)`` called before dropping another data set: it may
        refuse (``SystemExit``) to drop it
    """
    if not database_exists(db):
        return False
    marker = dataset_marker(db)
    if marker == wanted:
        _logger.info("reusing database %s (%s)", db, marker)
        upgrade_if_needed(db)
        return True
    if marker is None:
        raise SystemExit(f"database {db} exists and was not made by the bench: pick another --db")
    if check:
        check(marker)
    _logger.info("database %s holds %s, not %s: rebuilding it", db, marker, wanted)
    drop_database(db)
    return False


def ensure_database(db, leads, rules):
    """Make ``db`` hold ``leads`` generated leads and ``rules`` fit rules; return True if it was created."""
    wanted = f"leads={leads} rules={rules}"
    if reuse_database(db, wanted):
        _logger.info("compacting crm_lead of %s", db)
        vacuum(db, full=True)
        return False
    build_database(db, leads, rules, wanted)
    return True


def build_database(db, leads, rules, marker):
    started = time.monotonic()
    _logger.info("installing lead_intelligence in a new database %s", db)
    subprocess.run(odoo_bin_command(db, "-i", "lead_intelligence", "--stop-after-init"),
                   stdout=sys.stderr, check=True)
    set_marker(db, "incomplete")
    run_worker("fixtures", db, rules)
    installed = time.monotonic()
    conn = psycopg2.connect(dbname=db)
    try:
        index_count = generate_leads(conn, leads)
    finally:
        conn.close()
    vacuum(db)
    set_marker(db, marker)
    _logger.info("database %s ready: install %.0f s, %d leads generated in %.0f s, crm_lead has %d indexes",
                 db, installed - started, leads, time.monotonic() - installed, index_count)


def scalar(db, query, params=None):
    """The single value ``query`` returns."""
    with cursor(db) as cr:
        cr.execute(query, params)
        return cr.fetchone()[0]


def emit(line):
    """Print a measurement as one JSON line, with the machine's 1-minute load average (the one as
    its measurement ended, else now); return it."""
    line = {**line, "load_1m": round(line.get("load_1m", os.getloadavg()[0]), 2)}
    print(json.dumps(line, ensure_ascii=False), flush=True)
    return line


def run_scenario(args, measurements):
    """Run ``measurements(db).run()`` on the scratch database of ``args``, created if needed
    and dropped after unless ``--keep``; see :func:`configuration_kept`."""
    db = args.db or f"li_bench_{args.leads}"
    created = ensure_database(db, args.leads, args.rules)
    try:
        with configuration_kept(db, args.scenario):
            measurements(db).run()
    finally:
        if created and not args.keep:
            drop_database(db)


CONFIGURATION = sql.SQL("""
    SELECT json_build_object(
        'fit_rules', (SELECT count(*) FROM crm_lead_fit_rule WHERE active AND error_message IS NULL),
        'fit_rules_key', (SELECT md5(string_agg(concat_ws(':', id, points, sequence, domain, company_id), ','
                                                ORDER BY id))
                            FROM crm_lead_fit_rule WHERE active),
        'classification_rules', (SELECT count(*) FROM crm_lead_classification_rule WHERE active),
        'classification_rules_key', (SELECT md5(string_agg(concat_ws(':', id, dimension, value, domain), ','
                                                           ORDER BY id))
                                       FROM crm_lead_classification_rule WHERE active),
        'event_types', (SELECT count(*) FROM crm_lead_event_type WHERE active),
        'tiers', (SELECT count(*) FROM crm_lead_tier WHERE active),
        'active_models', (SELECT count(*) FROM crm_lead_scoring_model WHERE active AND state = 'active'),
        'settings', (SELECT json_object_agg(key, value ORDER BY key) FROM ir_config_parameter
                      WHERE starts_with(key, 'lead_intelligence.')))
""")


def configuration(db):
    """What the passes run with: the active rules (counted, and a digest of their conditions and
    points), event types, tiers, models and the addon's settings."""
    return scalar(db, CONFIGURATION)


# the logs the passes append to (mail_message: the tier moves posted in the chatter): a scenario
# deletes the rows it added, so that every run writes into tables of the size the database was
# built with; a row per change goes into their indexes, whose size is part of what a pass costs
LOG_TABLES = ("crm_lead_score_history", "crm_lead_classification_history", "mail_message")


def log_marks(db):
    """{table: (largest id, rows)} of each of LOG_TABLES."""
    with cursor(db) as cr:
        marks = {}
        for table in LOG_TABLES:
            cr.execute(sql.SQL("SELECT COALESCE(max(id), 0), count(*) FROM {}").format(sql.Identifier(table)))
            marks[table] = cr.fetchone()
        return marks


def delete_logs_after(db, marks):
    """Delete the rows of LOG_TABLES added after ``marks`` (of :func:`log_marks`); {table: rows deleted}.
    The messages' tracking values and notifications go with them (their foreign keys cascade)."""
    deleted = {}
    with cursor(db) as cr:
        for table, (last_id, _rows) in marks.items():
            cr.execute(sql.SQL("DELETE FROM {} WHERE id > %s").format(sql.Identifier(table)), [last_id])
            deleted[table] = cr.rowcount
    return deleted


@contextlib.contextmanager
def configuration_kept(db, scenario):
    """Print the configuration a scenario starts from and the rows of its logs, and after it whether
    it left the configuration as it found it (``configuration_restored``; the configuration it left
    when not) and the log rows it deleted (``logs_deleted``: what its passes added)."""
    before = configuration(db)
    marks = log_marks(db)
    # the behaviour the leads hold, which the passes decay (not configuration: the behaviour scenarios change it)
    emit({"scenario": scenario, "configuration": before,
          "log_rows": {table: rows for table, (_last_id, rows) in marks.items()},
          "engagement_rows": scalar(db, "SELECT count(*) FROM crm_lead_engagement")})
    try:
        yield
    finally:
        after = configuration(db)
        line = {"scenario": scenario, "configuration_restored": after == before,
                "logs_deleted": delete_logs_after(db, marks)}
        if after != before:
            line["configuration_left"] = after
        emit(line)


def upgrade_if_needed(db):
    """Upgrade lead_intelligence on a database built with another version of the addon than the code's."""
    with cursor(db) as cr:
        cr.execute("SELECT latest_version FROM ir_module_module WHERE name = 'lead_intelligence'")
        row = cr.fetchone()
    installed = row and row[0]
    manifest = ast.literal_eval((REPO_ROOT / "lead_intelligence" / "__manifest__.py").read_text())
    if installed == manifest["version"]:
        return
    _logger.info("database %s has lead_intelligence %s, the code %s: upgrading", db, installed, manifest["version"])
    subprocess.run(odoo_bin_command(db, "-u", "lead_intelligence", "--stop-after-init"), stdout=sys.stderr,
                   check=True)
