"""Scenario ``train``: training the model on N closed leads, and the full pass with it against fit-only.

    python bench/run.py train [--leads N_CLOSED] [--closed-events K] [--db NAME] [--keep]

``--leads`` is the number of *closed* leads (default 1,000,000): the scratch
database of ``bench.leadgen`` is built with N / (1 - its open share) leads, so
that about N are won or lost (with odds that depend on their country, job
position, source, e-mail, phone and deal size) and the others are open. It is
the database the other scenarios build at that size (``li_bench_<leads>``).

Every step runs in a worker process of its own (peak RSS its own):

1. A database built with another version of the addon is upgraded (``odoo-bin -u
   lead_intelligence``). Earlier models are deleted, the rule that matches
   every lead gets its first points and an untimed full pass settles the
   scores; ``fit_only`` times the full pass without a model, where nothing
   changes. The rule's points then move (as in ``rescore``) and
   ``fit_only_all_change`` times the pass where every score changes.
2. ``closed_events`` (``--closed-events K``, default 8): K counted events per
   closed lead in the event log, logged once per database by SQL, a quarter
   of them after the lead's closing date. Training reads a closed lead's
   behaviour as it was when it closed, from the log (the events after the
   closing come off its counters, its engagement is rebuilt on its closing
   day): these events make that reading cost what it costs with a real log.
   They do not change the counters themselves.
3. ``train`` times ``crm.lead.scoring.model._train_model()`` on every closed
   lead (the window covers the generated history) with its peak RSS; the
   issue's targets: under 10 minutes and 4 GB (the model may sample: the line
   says how many leads it trained on).
4. ``with_model_first`` times the full pass that follows, where every open
   lead gets its model probability (every score written), compared with
   ``fit_only_all_change``; ``with_model`` times the next one, where nothing
   changes (the nightly case), compared with ``fit_only``. The issue's target:
   within 2x of the fit-only pass.
"""

import logging
import math
import time

from bench import scratchdb
from bench.fit_rules import BASE_POINTS
from bench.leadgen import OPEN_SHARE
from bench.rescore import count_open, set_base_points
from bench.scratchdb import emit

_logger = logging.getLogger(__name__)

DEFAULT_CLOSED = 1_000_000
TARGET_TRAIN_SECONDS = 600.0
TARGET_TRAIN_RSS_MB = 4096.0
TARGET_RATIO = 0.5  # the full pass with the model at most 2x the fit-only pass


DEFAULT_CLOSED_EVENTS = 8


def run(args):
    closed = args.leads or DEFAULT_CLOSED
    args.leads = math.ceil(closed / (1.0 - OPEN_SHARE))
    closed_events = DEFAULT_CLOSED_EVENTS if args.closed_events is None else args.closed_events
    scratchdb.run_scenario(args, lambda db: Measurements(db, args.leads, args.rules, closed_events))


class Measurements:
    def __init__(self, db, leads, rules, closed_events=0):
        self.db = db
        self.rules = rules
        self.closed_events = closed_events
        self.open = count_open(db)
        self.closed = count_closed(db)
        self.common = {"scenario": "train", "leads": leads, "closed": self.closed, "open": self.open,
                       "rules": rules}

    def run(self):
        scratchdb.run_worker("model_clear", self.db, self.rules)
        set_base_points(self.db, BASE_POINTS[0])
        first = self.full_pass()
        _logger.info("untimed full pass without a model: %.1f s", first["seconds"])
        fit_only = emit(self.pass_line("fit_only", self.full_pass()))
        set_base_points(self.db, BASE_POINTS[1])
        fit_all_change = emit(self.pass_line("fit_only_all_change", self.full_pass()))

        if self.closed_events:
            emit({**self.common, "case": "closed_events", **log_closed_events(self.db, self.closed_events)})
        scratchdb.vacuum(self.db)
        trained = scratchdb.run_worker("model_train", self.db, self.rules)
        details = {key: value for key, value in trained.items() if key not in ("seconds", "peak_rss_mb", "base_rss_mb")}
        emit({**self.common, "case": "train", "impl": "ours", "seconds": round(trained["seconds"], 3),
              "closed_per_s": round(self.closed / trained["seconds"]), "peak_rss_mb": round(trained["peak_rss_mb"], 1),
              "base_rss_mb": round(trained["base_rss_mb"], 1), **details,
              "target_seconds": TARGET_TRAIN_SECONDS, "target_rss_mb": TARGET_TRAIN_RSS_MB,
              "met": trained["seconds"] < TARGET_TRAIN_SECONDS and trained["peak_rss_mb"] < TARGET_TRAIN_RSS_MB})

        first_with_model = self.pass_line("with_model_first", self.full_pass())
        with_model = self.pass_line("with_model", self.full_pass())
        # like for like: every score written against every score written, nothing against nothing
        for line, baseline in ((first_with_model, fit_all_change), (with_model, fit_only)):
            ratio = baseline["seconds"] / line["seconds"]
            emit({**line, "baseline": baseline["case"], "baseline_seconds": baseline["seconds"],
                  "ratio": round(ratio, 2), "target_ratio": TARGET_RATIO, "met": ratio >= TARGET_RATIO})

    def full_pass(self):
        for table in ("crm_lead", "crm_lead_score"):
            scratchdb.vacuum(self.db, table)
        return scratchdb.run_worker("model_rescore", self.db, self.rules, {"predictions": False})

    def pass_line(self, case, measure):
        seconds = measure["seconds"]
        return {**self.common, "case": case, "impl": "ours", "seconds": round(seconds, 3),
                "per_s": round(self.open / seconds), "with_model_probability": measure["with_model_probability"],
                "phases": measure["phases"],
                "peak_rss_mb": round(measure["peak_rss_mb"], 1), "base_rss_mb": round(measure["base_rss_mb"], 1)}


def log_closed_events(db, per_lead):
    """``per_lead`` counted events on each closed lead (types in turn, from 30 days before its closing to
    9 days after), once: their external ids are fixed, so a second run adds nothing.

    :return: events added, events of the bench in the log, seconds
    """
    started = time.perf_counter()
    with scratchdb.cursor(db) as cr:
        cr.execute("SELECT count(*) FROM crm_lead_event WHERE external_id LIKE 'bench-closed-%%'")
        logged = cr.fetchone()[0]
        cr.execute("SELECT count(*) FROM crm_lead WHERE won_status IN ('won', 'lost')")
        if logged >= per_lead * cr.fetchone()[0]:  # logged by an earlier run
            return {"per_lead": per_lead, "added": 0, "events": logged,
                    "seconds": round(time.perf_counter() - started, 3)}
        cr.execute(
            """INSERT INTO crm_lead_event (lead_id, type_id, occurred_at, source, external_id, value, company_id)
               SELECT l.id, t.ids[1 + (l.id * 7 + g) %% array_length(t.ids, 1)],
                      COALESCE(l.date_closed, l.write_date) + make_interval(days => (l.id * 13 + g * 7) %% 40 - 30),
                      'import', 'bench-closed-' || l.id || '-' || g, 60,
                      COALESCE(l.company_id, (SELECT min(id) FROM res_company))
                 FROM crm_lead l
                CROSS JOIN generate_series(1, %s) AS g
                CROSS JOIN (SELECT array_agg(id ORDER BY id) AS ids FROM crm_lead_event_type WHERE active) AS t
                WHERE l.won_status IN ('won', 'lost')
               ON CONFLICT DO NOTHING""", [per_lead])
        added = cr.rowcount
        cr.execute("SELECT count(*) FROM crm_lead_event WHERE external_id LIKE 'bench-closed-%%'")
        total = cr.fetchone()[0]
    scratchdb.vacuum(db, "crm_lead_event")
    return {"per_lead": per_lead, "added": added, "events": total, "seconds": round(time.perf_counter() - started, 3)}


def count_closed(db):
    return scratchdb.scalar(db, "SELECT count(*) FROM crm_lead WHERE won_status IN ('won', 'lost')")
