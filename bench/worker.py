"""One step of a benchmark in a process of its own, so that its peak RSS is its own.

    python -m bench.worker TASK --db NAME [--rules N] [--params JSON]     (from the repository root)

Prints one JSON object on stdout: ``seconds`` (the timed call only, not the
start-up), ``peak_rss_mb`` (the process's peak resident memory, start-up
included, as a cron worker would have it) and ``base_rss_mb`` (the peak before
the timed call, i.e. what loading Odoo alone costs). Logs go to stderr.
"""

import argparse
import json
import os
import re
import time
from pathlib import Path

from bench import classify, classify_floor, event_tasks, latency, model_tasks, report, route, segmentation, soak, tune
from bench.fixtures import create_fixtures
from bench.floor import run_floor
from bench.odoo_env import environment


def rss_mb():
    """Peak resident memory of this process, in MiB.

    ``VmHWM`` rather than ``getrusage(RUSAGE_SELF).ru_maxrss``: Linux carries
    ``ru_maxrss`` over ``execve``, so a worker would report the peak of the
    orchestrator that spawned it (the lead generator's, for instance).
    """
    status = Path("/proc/self/status").read_text(encoding="ascii")
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE).group(1)) / 1024.0


def timed(call):
    base = rss_mb()
    started = time.perf_counter()
    call()
    # the machine's 1-minute load average as the call ends: a busy machine shows in it
    return {"seconds": time.perf_counter() - started, "base_rss_mb": base, "peak_rss_mb": rss_mb(),
            "load_1m": os.getloadavg()[0]}


def timed_result(call):
    """:func:`timed`, with what ``call`` returns (a dict) added."""
    result = {}
    measure = timed(lambda: result.update(call()))
    return {**result, **measure}


def in_odoo(db, call):
    """Time ``call(env)`` in a superuser environment on ``db``, then commit."""
    with environment(db) as env:
        measure = timed(lambda: call(env))
        env.cr.commit()
    return measure


def in_odoo_measured(db, call):
    """``call(env)`` measures itself (a dict with ``seconds``…); Odoo's start-up is not in it."""
    with environment(db) as env:
        return call(env)


def stable_rules(env):
    """The active fit rules the nightly pass matches on the changed leads only, and the others."""
    config = env["crm.lead"]._get_scoring_config()
    stable = set(config.stable.tolist())
    return {
        "stable": len(stable),
        "unstable": [rule.name for index, rule in enumerate(config.rules) if index not in stable],
    }


# task name -> function(db, rules, params) returning the JSON object to print
TASKS = {
    "fixtures": lambda db, rules, _params: in_odoo(db, lambda env: create_fixtures(env, rules)),
    "rescore_all": lambda db, _rules, _params: in_odoo(db, lambda env: env["crm.lead"]._cron_rescore_all_leads()),
    "odoo_pls": lambda db, _rules, _params: in_odoo(
        db, lambda env: env["crm.lead"]._cron_update_automated_probabilities()),
    "sql_floor": lambda db, rules, _params: timed(lambda: run_floor(db, rules)),
    "sql_floor_few": lambda db, rules, params: timed(lambda: run_floor(db, rules, params["modulo"])),
    "stable_rules": lambda db, _rules, _params: in_odoo_measured(db, stable_rules),
    "rescore_phases": lambda db, _rules, _params: in_odoo_measured(db, event_tasks.full_pass),
    "count_events": lambda db, _rules, _params: in_odoo_measured(db, event_tasks.count_events),
    "counter_floor": lambda db, _rules, _params: timed(lambda: event_tasks.counter_floor(db)),
    "orm_counters": lambda db, _rules, params: in_odoo_measured(
        db, lambda env: event_tasks.orm_counter_writes(env, params["sample"])),
    "api_key": lambda db, _rules, _params: in_odoo_measured(db, event_tasks.create_api_key),
    "classification_rules": lambda db, _rules, _params: in_odoo(db, classify.create_classification_rules),
    "classify_phases": lambda db, _rules, _params: in_odoo_measured(db, classify.full_pass),
    "classify_floor": lambda db, _rules, _params: timed_result(lambda: classify_floor.replay_writes(db)),
    "route_languages": lambda db, _rules, _params: in_odoo(db, route.activate_languages),
    "route_tiers": lambda db, _rules, _params: in_odoo_measured(db, route.cut_tiers),
    "route_setup": lambda db, _rules, _params: in_odoo_measured(db, route.create_routing_setup),
    "soak_drain": lambda db, _rules, _params: in_odoo_measured(db, soak.final_drain),
    "latency_key": lambda db, _rules, _params: in_odoo_measured(db, latency.create_latency_key),
    "route_ours": lambda db, _rules, _params: in_odoo_measured(db, route.route_ours),
    "route_odoo": lambda db, _rules, _params: in_odoo_measured(db, route.route_odoo),
    "model_load": lambda db, _rules, params: in_odoo_measured(db, lambda env: model_tasks.load_dataset(env, params)),
    "model_pls": lambda db, _rules, params: in_odoo_measured(db, lambda env: model_tasks.run_pls(env, params)),
    "model_train": lambda db, _rules, params: in_odoo_measured(db, lambda env: model_tasks.train_model(env, params)),
    "model_clear": lambda db, _rules, _params: in_odoo(db, model_tasks.clear_models),
    "model_rescore": lambda db, _rules, params: in_odoo_measured(db, lambda env: model_tasks.rescore(env, params)),
    "tune_compute": lambda db, _rules, _params: in_odoo_measured(db, tune.compute_tuning),
    "report_setup": lambda db, _rules, _params: in_odoo_measured(db, report.prepare_and_commit),
    "report_queries": lambda db, _rules, _params: in_odoo_measured(db, report.measure_queries),
    "segmentation_setup": lambda db, _rules, _params: in_odoo_measured(db, segmentation.setup),
    "segmentation_pass": lambda db, _rules, params: in_odoo_measured(
        db, lambda env: segmentation.full_pass(env, params["refresh"])),
    "segmentation_clusters": lambda db, _rules, _params: in_odoo_measured(db, segmentation.clusters),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", choices=sorted(TASKS))
    parser.add_argument("--db", required=True)
    parser.add_argument("--rules", type=int, default=30)
    parser.add_argument("--params", type=json.loads, default={}, help="the task's parameters, a JSON object")
    args = parser.parse_args()
    print(json.dumps(TASKS[args.task](args.db, args.rules, args.params)))


if __name__ == "__main__":
    main()
