"""Scenario ``tune``: the suggestions of a tuning computed from every closed lead.

    python bench/run.py tune --leads N [--closed-events K] [--db NAME] [--keep]

On the scratch database of ``bench.leadgen`` (about two thirds of the leads won
or lost, with odds that depend on their profile), in a worker process of its own:

1. ``closed_events`` (``--closed-events K``, default 8): K counted events per
   closed lead in the event log, as the ``train`` scenario logs them (once per
   database): a tuning reads each closed lead's behaviour per event type,
   decayed to its closing, from the log.
2. A tuning over every closed lead (``crm.lead.tuning``, the period covering the
   generated history) is timed in three parts: ``read_closed``, every closed lead
   counted by score and outcome in one grouped query (the tier backtest's
   histogram) and the newest ``MAX_SUGGESTION_LEADS`` of them (``learnt_from``)
   read a chunk at a time (outcome, score, revenue, every fit rule matched, the
   behaviour at closing: ``crm.lead._read_closed_leads``); ``suggest``, the
   engine on those arrays (conversion and lift per rule and event type, the
   regression and its margins, the tier histogram, backtests and proposed
   cut-offs); ``compute``, the whole *Compute* button a manager clicks (reading
   again, the engine, the suggestion and tier lines written), with the peak RSS
   of the worker. The issue's target: under 60 s at 1,000,000 leads.

Nothing is applied: the database's rules and tiers are left as they were.
"""

import logging
import time

import numpy as np

from bench import scratchdb
from bench.scratchdb import emit
from bench.train import DEFAULT_CLOSED_EVENTS, count_closed, log_closed_events

_logger = logging.getLogger(__name__)

TARGET_SECONDS = 60.0  # the Compute of a tuning, at 1,000,000 leads
TARGET_LEADS = 1_000_000


def run(args):
    closed_events = DEFAULT_CLOSED_EVENTS if args.closed_events is None else args.closed_events
    scratchdb.run_scenario(args, lambda db: Measurements(db, args.leads, args.rules, closed_events))


class Measurements:
    def __init__(self, db, leads, rules, closed_events):
        self.db = db
        self.rules = rules
        self.closed_events = closed_events
        self.common = {"scenario": "tune", "leads": leads, "closed": count_closed(db), "rules": rules}

    def run(self):
        if self.closed_events:
            emit({**self.common, "case": "closed_events", **log_closed_events(self.db, self.closed_events)})
        measure = scratchdb.run_worker("tune_compute", self.db, self.rules)
        details = {"event_types": measure["event_types"], "won": measure["won"], "learnt_from": measure["learnt_from"]}
        emit({**self.common, **details, "case": "read_closed", "impl": "ours",
              "seconds": round(measure["read_seconds"], 3)})
        emit({**self.common, **details, "case": "suggest", "impl": "ours",
              "seconds": round(measure["suggest_seconds"], 3)})
        emit({**self.common, **details, "case": "compute", "impl": "ours", "seconds": round(measure["seconds"], 3),
              "peak_rss_mb": round(measure["peak_rss_mb"], 1), "base_rss_mb": round(measure["base_rss_mb"], 1),
              "target_seconds": TARGET_SECONDS, "target_leads": TARGET_LEADS,
              "met": measure["seconds"] < TARGET_SECONDS})


def compute_tuning(env):
    """Time a tuning over every closed lead, in its parts; see the module's docstring. Nothing is committed."""
    from bench.worker import rss_mb  # here: the worker imports this module

    # the addon is importable once Odoo is loaded
    from odoo.addons.lead_intelligence.engine import tuning
    from odoo.addons.lead_intelligence.models.scoring.crm_lead_fit_rule import MAX_RULE_POINTS
    from odoo.addons.lead_intelligence.models.tuning.crm_lead_tuning import MAX_SUGGESTION_LEADS

    run = env["crm.lead.tuning"].create({"date_from": "2000-01-01"})
    rules, types, tiers = run._get_rules(), run._get_event_types(), run._get_tiers()
    condition = run._closed_lead_condition()
    started = time.perf_counter()
    env["crm.lead"]._read_closed_histogram(condition)
    closed = env["crm.lead"]._read_closed_leads(condition, rules, np.array(types.ids), MAX_SUGGESTION_LEADS)
    read = time.perf_counter() - started
    _logger.info("%d closed leads read in %.1f s", len(closed), read)
    started = time.perf_counter()
    tuning.indicator_stats(closed.won, closed.matches)
    tuning.indicator_stats(closed.won, closed.behaviour > 0)
    scale = tuning.points_per_logit(100)
    tuning.suggest_points(closed, rules.mapped("points"), types.mapped("points"), scale, scale, MAX_RULE_POINTS)
    histogram = tuning.ScoreHistogram.from_leads(closed)
    cutoffs = tuning.cutoffs_for_shares(histogram, np.full(len(tiers), 1.0 / len(tiers)))
    tuning.backtest_tiers(histogram, cutoffs)
    suggest = time.perf_counter() - started
    base = rss_mb()
    started = time.perf_counter()
    run.action_compute()
    seconds = time.perf_counter() - started
    won = run.won_count
    env.cr.rollback()
    return {"read_seconds": read, "suggest_seconds": suggest, "seconds": seconds, "won": won,
            "learnt_from": len(closed), "event_types": len(types), "base_rss_mb": base, "peak_rss_mb": rss_mb()}
