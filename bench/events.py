"""Scenario ``events``: counting a backlog of pending events, against the SQL floor and Odoo's ORM.

On the scratch database, with an empty behaviour state and every open lead
scored (an untimed full pass):

1. ``bench.behaviour_data`` logs ``--events`` pending events over ``--touched``
   open leads by ``COPY``; the increments they make per lead are kept aside
   (``bench_event_increments``) for the two baselines; ``VACUUM ANALYZE``.
2. ``count_events`` times ``crm.lead.event._cron_count_events()``: claim, flag,
   fold into the engagement, one UPDATE of the counters per touched lead,
   rescore the touched leads; with the seconds spent in each phase.
3. ``sql_floor``: the same counters added to the same leads by one plain
   ``UPDATE crm_lead … FROM unnest(…)`` per chunk of 20,000 (``bench.event_tasks``).
4. ``odoo_orm``: the same counters added through ``crm.lead.write``, one lead at
   a time, on a sample of the touched leads; its rate gives the time it would
   take for all of them.

The baselines run after ours, on rows ours just rewrote (``VACUUM`` between).
"""

import logging

from bench import scratchdb
from bench.behaviour_data import COUNTER_COLUMNS, SPAN_DAYS, generate_events, reset_behaviour
from bench.event_tasks import INCREMENTS_TABLE
from bench.rescore import count_open
from bench.scratchdb import emit

_logger = logging.getLogger(__name__)

DEFAULT_EVENTS = 1_000_000
DEFAULT_TOUCHED_SHARE = 0.6  # of the open leads
DEFAULT_SAMPLE = 2_000
TARGET_SECONDS_PER_MILLION = 60.0  # the issue: 1,000,000 events counted and their leads rescored in 60 s
RSS_TARGET_MB = 500


def run(args):
    scratchdb.run_scenario(args, lambda db: Measurements(db, args))


def prepare(db, rules):
    """Empty behaviour state, every open lead scored as the nightly pass leaves it."""
    reset_behaviour(db)
    scratchdb.vacuum(db)
    first = scratchdb.run_worker("rescore_all", db, rules)
    _logger.info("untimed full pass so that every open lead holds its score: %.1f s", first["seconds"])




class Measurements:
    def __init__(self, db, args):
        self.db = db
        self.rules = args.rules
        self.events = args.events or DEFAULT_EVENTS
        self.open = count_open(db)
        self.touched = args.touched or round(self.open * DEFAULT_TOUCHED_SHARE)
        self.sample = args.sample or DEFAULT_SAMPLE
        self.common = {"scenario": "events", "leads": args.leads, "open": self.open, "rules": args.rules}

    def run(self):
        prepare(self.db, self.rules)
        touched = generate_events(self.db, self.events, self.touched)
        keep_increments(self.db)
        for table in ("crm_lead_event", "crm_lead", "crm_lead_engagement", "crm_lead_score"):
            scratchdb.vacuum(self.db, table)
        self.common.update(events=self.events, touched=touched)

        measure = scratchdb.run_worker("count_events", self.db, self.rules)
        outcome = count_outcome(self.db)
        seconds = measure["seconds"]
        target_per_s = 1_000_000 / TARGET_SECONDS_PER_MILLION
        ours = emit({
            **self.common, "case": "count_events", "impl": "ours", "seconds": round(seconds, 3),
            "per_s": round(self.events / seconds), "leads_per_s": round(touched / seconds),
            "counted": outcome.get("counted", 0), "filtered": outcome.get("filtered", 0),
            "pending_left": outcome.get("pending", 0), "chunks": measure["chunks"], "phases": measure["phases"],
            "peak_rss_mb": round(measure["peak_rss_mb"], 1), "base_rss_mb": round(measure["base_rss_mb"], 1),
            "rss_ok": measure["peak_rss_mb"] < RSS_TARGET_MB,
            "target_per_s": round(target_per_s), "met": self.events / seconds >= target_per_s,
        })

        scratchdb.vacuum(self.db)
        floor = scratchdb.run_worker("counter_floor", self.db, self.rules)
        floor = emit(self.baseline_line("sql_floor", floor, touched, touched))

        scratchdb.vacuum(self.db)
        orm = scratchdb.run_worker("orm_counters", self.db, self.rules, {"sample": self.sample})
        orm = emit(self.baseline_line("odoo_orm", orm, orm["rows"], touched))

        emit(compare(ours, floor))
        emit(compare(ours, orm))
        drop_increments(self.db)

    def baseline_line(self, impl, measure, rows, touched):
        """A baseline's line: ``rows`` written in ``seconds``, projected to the ``touched`` leads."""
        seconds = measure["seconds"]
        return {
            **self.common, "case": "counters", "impl": impl, "rows": rows, "seconds": round(seconds, 3),
            "per_s": round(rows / seconds), "projected_seconds": round(seconds * touched / rows, 3),
            "peak_rss_mb": round(measure["peak_rss_mb"], 1), "base_rss_mb": round(measure["base_rss_mb"], 1),
        }


def compare(ours, baseline):
    """Our line against a baseline's time for all the touched leads (projected from its sample)."""
    line = {key: value for key, value in ours.items() if key not in ("phases", "target_per_s", "met")}
    return {**line, "baseline": baseline["impl"], "baseline_seconds": baseline["projected_seconds"],
            "ratio": round(baseline["projected_seconds"] / ours["seconds"], 2)}


def keep_increments(db):
    """What the pending events add to each touched lead (if all were counted), for the baselines."""
    counters = ", ".join(
        f"count(*) FILTER (WHERE t.counter_field = '{column}')::int AS {column}"
        if column != "time_on_site" else
        f"COALESCE(sum(e.value) FILTER (WHERE t.counter_field = '{column}'), 0)::int AS {column}"
        for column in COUNTER_COLUMNS)
    with scratchdb.cursor(db) as cr:
        cr.execute(f"DROP TABLE IF EXISTS {INCREMENTS_TABLE}")  # pylint: disable=sql-injection  # module constants only
        cr.execute(f"CREATE UNLOGGED TABLE {INCREMENTS_TABLE} AS "  # pylint: disable=sql-injection  # module constants only
                   f"SELECT e.lead_id, {counters}, extract(epoch FROM max(e.occurred_at))::float8 AS latest "
                   "FROM crm_lead_event_queue e JOIN crm_lead_event_type t ON t.id = e.type_id "
                   "GROUP BY e.lead_id")
        cr.execute(f"ALTER TABLE {INCREMENTS_TABLE} ADD PRIMARY KEY (lead_id)")  # pylint: disable=sql-injection  # module constants only
    _logger.info("events spread over the last %d days; increments per lead kept in %s", SPAN_DAYS, INCREMENTS_TABLE)


def drop_increments(db):
    with scratchdb.cursor(db) as cr:
        cr.execute(f"DROP TABLE IF EXISTS {INCREMENTS_TABLE}")  # pylint: disable=sql-injection  # module constants only


def count_outcome(db):
    with scratchdb.cursor(db) as cr:
        cr.execute("SELECT CASE WHEN e.filter_reason IS NOT NULL THEN 'filtered' "
                   "WHEN q.id IS NOT NULL THEN 'pending' ELSE 'counted' END, count(*) "
                   "FROM crm_lead_event e LEFT JOIN crm_lead_event_queue q ON q.event_id = e.id GROUP BY 1")
        return dict(cr.fetchall())
