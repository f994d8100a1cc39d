"""Scenario ``rescore``: our nightly full pass against Odoo's PLS and the SQL floor.

Every measurement runs in a process of its own (``bench.worker``) on the same
leads, after a ``VACUUM ANALYZE``; the database is brought back to the same
state before each so that they compare the same work:

1. ``odoo_pls``: ``crm.lead._cron_update_automated_probabilities()``, Odoo's own
   predictive lead scoring (frequency table rebuild + every open lead).
2. An untimed full pass with the base rule at its first value, so that every
   open lead holds a score; then the base rule moves and ``all_change`` times
   ``crm.lead._cron_rescore_all_leads()``: every open lead's score changes.
3. ``few_change``: the priority of 5 % of the open leads flips (which moves
   their "High priority" points), flagging them dirty as a write through the
   ORM does, and the full pass is timed again: the nightly case, where matching
   the stable rules on the changed leads only and writing only what changed
   must pay off.
4. ``few_change_behind_orm``: the same leads flip back by a plain SQL UPDATE
   that does not flag them (as a script or another module may): the addon's
   trigger flags them, and the pass must find the same changes.
5. ``sql_floor``: ``bench.floor`` reads the rule columns of the open leads and
   writes one score column back with plain SQL; ``sql_floor_few`` reads them
   all too but writes only the flipped leads: the floor of the nightly case.

The levers are pulled by SQL, so that no module hook adds work to what is timed.
The scenario prints the configuration it measures (the first line, and which fit
rules are stable) and leaves the base rule's points as it found them.
"""

import logging

from psycopg2 import sql

from bench import scratchdb
from bench.fit_rules import BASE_POINTS
from bench.scratchdb import OPEN_LEADS

_logger = logging.getLogger(__name__)

FEW_CHANGE_MODULO = 20  # one open lead in 20 has its priority flipped
RSS_TARGET_MB = 500
COUNT_OPEN = sql.SQL("SELECT count(*) FROM crm_lead WHERE {}").format(OPEN_LEADS)
FLIP_PRIORITIES = sql.SQL(
    "UPDATE crm_lead SET priority = CASE WHEN priority IN ('2', '3') THEN '0' ELSE '3' END WHERE {} AND id %% %s = 0 "
    "RETURNING id"
).format(OPEN_LEADS)
COUNT_DIRTY = sql.SQL("SELECT count(*) FROM crm_lead WHERE {} AND {}").format(scratchdb.DIRTY, OPEN_LEADS)
# the scores live beside crm_lead, in crm_lead_score; the tier on crm_lead
LEAD_SCORES = sql.SQL("crm_lead LEFT JOIN crm_lead_score s ON s.id = crm_lead.score_line_id")
SNAPSHOT = sql.SQL(
    "CREATE UNLOGGED TABLE bench_score_snapshot AS "
    "SELECT crm_lead.id, s.fit_score, s.score, crm_lead.tier_id FROM {} WHERE {}"
).format(LEAD_SCORES, OPEN_LEADS)
COUNT_CHANGED = sql.SQL(
    "SELECT count(*) FROM bench_score_snapshot b JOIN {} ON crm_lead.id = b.id "
    "WHERE (s.fit_score, s.score, crm_lead.tier_id) IS DISTINCT FROM (b.fit_score, b.score, b.tier_id)"
).format(LEAD_SCORES)
# minimum ratio (baseline seconds / ours) per (case, baseline), from the issue
TARGETS = {
    ("all_change", "odoo_pls"): 2.0, ("all_change", "sql_floor"): 1 / 1.3,
    ("few_change", "odoo_pls"): 10.0, ("few_change", "sql_floor_few"): 1 / 2.0,
    ("few_change_behind_orm", "odoo_pls"): 10.0, ("few_change_behind_orm", "sql_floor_few"): 1 / 2.0,
}


def run(args):
    db = args.db or f"li_bench_{args.leads}"
    created = scratchdb.ensure_database(db, args.leads, args.rules)
    try:
        with scratchdb.configuration_kept(db, "rescore"):
            Measurements(db, args.leads, args.rules).run()
    finally:
        if created and not args.keep:
            scratchdb.drop_database(db)


class Measurements:
    """The scenario's steps on one database; ``run`` prints the JSON lines."""

    def __init__(self, db, leads, rules):
        self.db = db
        self.rules = rules
        self.open = count_open(db)
        self.common = {"scenario": "rescore", "leads": leads, "open": self.open, "rules": rules,
                       "indexes": count_indexes(db)}

    def run(self):
        found = base_points(self.db)
        try:
            self.measure_all()
        finally:
            set_base_points(self.db, found)

    def measure_all(self):
        stable = scratchdb.run_worker("stable_rules", self.db, self.rules)
        self.emit({**self.common, "case": "configuration", "stable_fit_rules": stable["stable"],
                   "unstable_fit_rules": stable["unstable"]})
        pls = self.emit(self.line("odoo_pls", "odoo_pls", self.measure("odoo_pls")))

        set_base_points(self.db, BASE_POINTS[0])
        first = self.measure("rescore_all")
        _logger.info("untimed first pass: %.1f s, %s", first["seconds"], first)

        set_base_points(self.db, BASE_POINTS[1])
        all_change = self.ours("all_change")
        self.emit(compare(all_change, pls))

        flipped = flip_priorities(self.db, flag=True)
        _logger.info("flipped the priority of %d open leads, flagged dirty as by the ORM", flipped)
        few_change = self.ours("few_change")
        self.emit(compare(few_change, pls))

        flip_priorities(self.db, flag=False)
        _logger.info("flipped them back by SQL, unflagged: %d open leads dirty", count_dirty(self.db))
        behind_orm = self.ours("few_change_behind_orm")
        self.emit(compare(behind_orm, pls))

        floor = self.emit(self.line("sql_floor", "sql_floor", self.measure("sql_floor")))
        self.emit(compare(all_change, floor))
        floor_few = self.emit(self.line("sql_floor_few", "sql_floor_few",
                                        self.measure("sql_floor_few", {"modulo": FEW_CHANGE_MODULO})))
        self.emit(compare(few_change, floor_few))
        self.emit(compare(behind_orm, floor_few))

    def measure(self, task, params=None):
        scratchdb.vacuum(self.db)
        return scratchdb.run_worker(task, self.db, self.rules, params)

    def ours(self, case):
        """Time our full pass and count the open leads whose stored values it changed."""
        snapshot(self.db)
        dirty = count_dirty(self.db)
        line = self.line("ours", case, self.measure("rescore_all"))
        line["dirty_before"] = dirty
        line["changed"] = count_changed(self.db)
        line["rss_ok"] = line["peak_rss_mb"] < RSS_TARGET_MB
        return line

    def line(self, impl, case, measure):
        seconds = measure["seconds"]
        return {
            **self.common, "case": case, "impl": impl, "seconds": round(seconds, 3),
            "per_s": round(self.open / seconds), "peak_rss_mb": round(measure["peak_rss_mb"], 1),
            "base_rss_mb": round(measure["base_rss_mb"], 1), "load_1m": round(measure["load_1m"], 2),
        }

    @staticmethod
    def emit(line):
        return scratchdb.emit(line)


def compare(ours, baseline):
    """Our line with the baseline's name and seconds, the ratio and the issue's target."""
    ratio = baseline["seconds"] / ours["seconds"]
    target = TARGETS.get((ours["case"], baseline["impl"]))
    return {
        **ours, "baseline": baseline["impl"], "baseline_seconds": baseline["seconds"], "ratio": round(ratio, 2),
        "target_ratio": target and round(target, 2), "met": None if target is None else ratio >= target,
    }


def count_open(db):
    return scratchdb.scalar(db, COUNT_OPEN)


def count_indexes(db):
    return scratchdb.scalar(db, "SELECT count(*) FROM pg_indexes WHERE tablename = 'crm_lead'")


def set_base_points(db, points):
    """Give the rule that matches every lead ``points`` (it is the first by sequence)."""
    with scratchdb.cursor(db) as cr:
        cr.execute("UPDATE crm_lead_fit_rule SET points = %s WHERE id = "
                   "(SELECT id FROM crm_lead_fit_rule WHERE active ORDER BY sequence, id LIMIT 1)", [points])


def flip_priorities(db, flag):
    """Move one open lead in FEW_CHANGE_MODULO in or out of the "High priority" rule.

    :param flag: flag them dirty in the same transaction, as a write through the ORM does; else leave
        the flag to the addon's trigger, as for any write behind the ORM
    """
    with scratchdb.cursor(db) as cr:
        cr.execute(FLIP_PRIORITIES, [FEW_CHANGE_MODULO])
        ids = [row[0] for row in cr.fetchall()]
        if flag:
            cr.execute(scratchdb.FLAG_DIRTY, [ids])
        return len(ids)


def count_dirty(db):
    return scratchdb.scalar(db, COUNT_DIRTY)


def base_points(db):
    """The points of the rule that matches every lead."""
    return scratchdb.scalar(
        db, "SELECT points FROM crm_lead_fit_rule WHERE active ORDER BY sequence, id LIMIT 1")


def snapshot(db):
    with scratchdb.cursor(db) as cr:
        cr.execute("DROP TABLE IF EXISTS bench_score_snapshot")
        cr.execute(SNAPSHOT)


def count_changed(db):
    """Count the open leads whose fit score, score or tier differ from the snapshot, and drop it."""
    with scratchdb.cursor(db) as cr:
        cr.execute(COUNT_CHANGED)
        changed = cr.fetchone()[0]
        cr.execute("DROP TABLE bench_score_snapshot")
    _logger.info("open leads whose fit score, score or tier changed: %d", changed)
    return changed
