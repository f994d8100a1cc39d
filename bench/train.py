"""Scenario ``train``: training the model on N closed leads, and the full pass with it against fit-only.

    python bench/run.py train [--leads N_CLOSED] [--db NAME] [--keep]

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
2. ``train`` times ``crm.lead.scoring.model._train_model()`` on every closed
   lead (the window covers the generated history) with its peak RSS; the
   issue's targets: under 10 minutes and 4 GB (the model may sample: the line
   says how many leads it trained on).
3. ``with_model_first`` times the full pass that follows, where every open
   lead gets its model probability (every score written), compared with
   ``fit_only_all_change``; ``with_model`` times the next one, where nothing
   changes (the nightly case), compared with ``fit_only``. The issue's target:
   within 2x of the fit-only pass.
"""

import logging
import math

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


def run(args):
    closed = args.leads or DEFAULT_CLOSED
    args.leads = math.ceil(closed / (1.0 - OPEN_SHARE))
    scratchdb.run_scenario(args, lambda db: Measurements(db, args.leads, args.rules))


class Measurements:
    def __init__(self, db, leads, rules):
        self.db = db
        self.rules = rules
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


def count_closed(db):
    return scratchdb.scalar(db, "SELECT count(*) FROM crm_lead WHERE won_status IN ('won', 'lost')")
