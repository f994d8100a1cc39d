"""The floor PostgreSQL itself allows for a full rescore, with no Odoo at all.

Read, chunk by chunk in id order, the columns the fit rules read for every open
lead (active, ``won_status = 'pending'``), compute a stand-in score with numpy,
and write it into a score column of ``crm_lead`` (``bench_floor_score``, an
unindexed integer the floor adds) with one ``UPDATE … FROM unnest(…)`` per
chunk, committing per chunk like the cron. No rule is evaluated: what is left
is the cost of moving the rows in and out, which no implementation can beat
while it keeps the score on ``crm_lead`` (the addon keeps it beside). With a
``modulo``, only the leads known to change are written: the floor of the
nightly pass, which must read every open lead (some rules read what changes
without a write of the lead) but writes only what changed.
"""

import numpy as np
from psycopg2 import sql

from bench.fit_rules import bench_rules, rule_columns
from bench.scratchdb import OPEN_LEADS, cursor

CHUNK_SIZE = 20_000  # rows per transaction, as the addon's default chunk


def stand_in_score(rows):
    """A 0-100 value per row that depends on every column read (one hash per row)."""
    return np.fromiter(map(hash, rows), dtype=np.int64, count=len(rows)) % 101


def run_floor(db, rule_count, modulo=None):
    """Rescore every open lead by plain SQL; return the number of rows written.

    :param modulo: write only the leads whose id is a multiple of it (the few that changed, known
        beforehand): the floor of a nightly pass that reads every open lead and writes its changes
    """
    select = sql.SQL("SELECT id, {} FROM crm_lead WHERE {} AND id > %s ORDER BY id LIMIT %s").format(
        sql.SQL(", ").join(map(sql.Identifier, rule_columns(bench_rules(rule_count)))), OPEN_LEADS)
    update = ("UPDATE crm_lead SET bench_floor_score = v.score FROM unnest(%s::int[], %s::int[]) AS v(id, score) "
              "WHERE crm_lead.id = v.id")
    written, last_id = 0, 0
    with cursor(db) as cr:
        cr.execute("ALTER TABLE crm_lead ADD COLUMN IF NOT EXISTS bench_floor_score integer")
        cr.connection.commit()
        while True:
            cr.execute(select, [last_id, CHUNK_SIZE])
            rows = cr.fetchall()
            if not rows:
                return written
            ids = np.array([row[0] for row in rows], dtype=np.int64)
            scores = stand_in_score(rows)
            if modulo:
                changed = ids % modulo == 0
                ids, scores = ids[changed], scores[changed]
            cr.execute(update, [ids.tolist(), scores.tolist()])
            cr.connection.commit()
            written += len(ids)
            last_id = rows[-1][0]
