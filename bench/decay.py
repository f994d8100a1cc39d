"""Scenario ``decay``: the nightly full pass with the engagement to decay, against the same pass fit-only.

The nightly pass (``crm.lead._cron_rescore_all_leads()``) reads each chunk's
engagement rows and decays them to now, so a lead's engagement score falls day
after day without any event. On the scratch database, with an empty event log:

1. ``bench.behaviour_data.fill_engagement`` gives ``--engaged`` (a share, default
   all) of the open leads 2 to 4 engagement rows by ``COPY``; an untimed full
   pass scores every open lead with them.
2. Every ``ref_date`` moves back one day, by SQL, and the times until which the
   leads' scores hold with them: the stored state is then what it would be a day
   later, and ``with_decay`` times the full pass, which writes the engagement
   scores (and scores, tiers, history) that one day of decay moved.
3. ``crm_lead_engagement`` is emptied and an untimed full pass scores every lead
   fit-only; ``fit_only`` times the full pass again: the pass without engagement,
   where nothing changes.

``with_decay`` is compared with ``fit_only``: the issue's target is at most twice
its time (``ratio`` = fit-only seconds ÷ with-decay seconds ≥ 0.5).
"""

import logging

from bench import scratchdb
from bench.behaviour_data import fill_engagement, reset_behaviour
from bench.rescore import count_changed, count_open, snapshot
from bench.scratchdb import emit

_logger = logging.getLogger(__name__)

TARGET_RATIO = 0.5  # with decay at most 2x the fit-only pass
RSS_TARGET_MB = 500


def run(args):
    scratchdb.run_scenario(args, lambda db: Measurements(db, args))


class Measurements:
    def __init__(self, db, args):
        self.db = db
        self.rules = args.rules
        self.share = args.engaged if args.engaged is not None else 1.0
        self.open = count_open(db)
        self.common = {"scenario": "decay", "leads": args.leads, "open": self.open, "rules": args.rules}

    def run(self):
        reset_behaviour(self.db)
        engaged, rows = fill_engagement(self.db, self.share)
        self.untimed_pass("with the engagement")
        age_engagement(self.db, days=1)
        with_decay = self.measure("with_decay", engaged_leads=engaged, engagement_rows=rows)

        reset_behaviour(self.db)
        self.untimed_pass("fit-only")
        fit_only = emit(self.measure("fit_only", engaged_leads=0, engagement_rows=0))

        ratio = fit_only["seconds"] / with_decay["seconds"]
        emit({**with_decay, "baseline": "fit_only", "baseline_seconds": fit_only["seconds"],
              "ratio": round(ratio, 2), "target_ratio": TARGET_RATIO, "met": ratio >= TARGET_RATIO})

    def untimed_pass(self, what):
        scratchdb.vacuum(self.db, "crm_lead_engagement")
        first = scratchdb.run_worker("rescore_all", self.db, self.rules)
        _logger.info("untimed full pass %s: %.1f s", what, first["seconds"])

    def measure(self, case, **counts):
        for table in ("crm_lead", "crm_lead_score", "crm_lead_engagement"):
            scratchdb.vacuum(self.db, table)
        snapshot(self.db)
        started = database_now(self.db)
        measure = scratchdb.run_worker("rescore_phases", self.db, self.rules)
        changed = count_changed(self.db)
        written = count_scores_written(self.db, started)
        seconds = measure["seconds"]
        return {
            **self.common, "case": case, "impl": "ours", **counts, "seconds": round(seconds, 3),
            "per_s": round(self.open / seconds), "changed": changed, "scores_written": written,
            "peak_rss_mb": round(measure["peak_rss_mb"], 1), "base_rss_mb": round(measure["base_rss_mb"], 1),
            "rss_ok": measure["peak_rss_mb"] < RSS_TARGET_MB, "phases": measure["phases"],
        }


def age_engagement(db, days):
    """Move every stored reference date ``days`` back: the engagement as it will be ``days`` later;
    and the times until which the leads' scores hold (``crm_lead_score.settled_until``) as much, so
    that the pass finds the leads whose time has come ``days`` later."""
    with scratchdb.cursor(db) as cr:
        cr.execute("UPDATE crm_lead_engagement SET ref_date = ref_date - make_interval(days => %s)", [days])
        _logger.info("moved %d engagement rows %d day(s) back", cr.rowcount, days)
        cr.execute("UPDATE crm_lead_score SET settled_until = settled_until - %s WHERE settled_until IS NOT NULL",
                   [days * 86400])


def database_now(db):
    return scratchdb.scalar(db, "SELECT now() AT TIME ZONE 'UTC'")


def count_scores_written(db, since):
    """Score rows the pass rewrote (any of fit, engagement, score changed): stamped after ``since``."""
    return scratchdb.scalar(db, "SELECT count(*) FROM crm_lead_score WHERE score_date >= %s", [since])
