"""Benchmarks of lead_intelligence against Odoo's own machinery and the floor PostgreSQL allows.

    python bench/run.py rescore --leads N [--db NAME] [--rules 30] [--keep]
    python bench/run.py ingest --leads N [--batches 150] [--baseline-batches 20] [--clients 3] [--server-workers 2]
    python bench/run.py events --leads N [--events 1000000] [--touched K] [--sample 2000]
    python bench/run.py decay --leads N [--engaged 1.0]
    python bench/run.py classify --leads N
    python bench/run.py route [--leads 10000] [--odoo-leads 1000]
    python bench/run.py model [--dataset x_education|crm_sales_opportunities] [--leads N]
    python bench/run.py train [--leads N_CLOSED]
    python bench/run.py drift [--leads 60000]
    python bench/run.py tune --leads N [--closed-events 8]
    python bench/run.py report --leads N
    python bench/run.py soak [--leads 3000] [--seconds 120] [--requests 3000] [--clients 3] [--batch-size 50]
    python bench/run.py latency --leads N [--requests 300] [--clients 3] [--rate 500] [--batch-size 100]

Creates (or reuses) a scratch database, prints one JSON line per measurement on
stdout and logs on stderr. See bench/README.md for what each line means.
"""

import argparse
import logging
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import (
    classify,
    decay,
    drift,
    events,
    ingest,
    latency,
    model,
    model_data,
    report,
    rescore,
    route,
    segmentation,
    soak,
    train,
    tune,
)

SCENARIOS = {"rescore": rescore.run, "ingest": ingest.run, "events": events.run, "decay": decay.run,
             "classify": classify.run, "route": route.run, "model": model.run, "train": train.run,
             "soak": soak.run, "tune": tune.run, "latency": latency.run, "report": report.run,
             "segmentation": segmentation.run, "drift": drift.run}
# the other scenarios need --leads, but model and train
DEFAULT_LEADS = {"route": route.DEFAULT_LEADS, "soak": soak.DEFAULT_LEADS}
DEFAULT_BATCH_SIZE = 1000  # events per request (the API's maximum), but for soak
SCENARIO_BATCH_SIZE = {"soak": soak.DEFAULT_BATCH_SIZE, "latency": latency.DEFAULT_BATCH_SIZE}
# scenarios whose --leads is optional: the rows of the data set (model), closed leads (train)
LEADS_OPTIONAL = {"model", "train", "drift"}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--leads", type=int,
                        help="number of leads to generate (route: 10,000 by default; model: rows of the data set "
                             "to load, default all; train: closed leads, default 1,000,000)")
    parser.add_argument("--db", help="scratch database (default: li_bench_<leads>; route: li_bench_route_<leads>; "
                                     "soak: li_bench_soak_<leads>)")
    parser.add_argument("--rules", type=int, default=30, help="number of fit rules (default: 30)")
    parser.add_argument("--keep", action="store_true",
                        help="keep a database this run created, so that the next run reuses it")
    behaviour = parser.add_argument_group("events")
    behaviour.add_argument("--events", type=int, help="pending events to count (default: 1,000,000)")
    behaviour.add_argument("--touched", type=int, help="open leads the events go to (default: 60 %% of them)")
    behaviour.add_argument("--sample", type=int, help="leads written through the ORM (default: 2,000)")
    decaying = parser.add_argument_group("decay")
    decaying.add_argument("--engaged", type=float, help="share of the open leads with engagement (default: 1.0)")
    http = parser.add_argument_group("ingest and soak")
    http.add_argument("--batches", type=int, default=150, help="batches sent to our API (default: 150)")
    http.add_argument("--baseline-batches", type=int, default=20,
                      help="batches sent to Odoo's JSON-2 API (default: 20)")
    http.add_argument("--batch-size", type=int, help="events per request (default: 1,000; soak: 50)")
    http.add_argument("--clients", type=int, default=3, help="client threads sending at once (default: 3)")
    http.add_argument("--server-workers", type=int, default=2,
                      help="odoo-bin --workers (default: 2; 0: threaded server)")
    soaking = parser.add_argument_group("soak")
    soaking.add_argument("--seconds", type=int, help="longest time the clients send events (default: 120)")
    soaking.add_argument("--requests", type=int,
                         help="most requests the clients send (default: 3,000; latency: timed calls per server, 300)")
    soaking.add_argument("--cron-workers", type=int, help="odoo-bin --max-cron-threads (default: 2)")
    timing = parser.add_argument_group("latency")
    timing.add_argument("--rate", type=int, help="background events per second (default: 500)")
    routing = parser.add_argument_group("route")
    routing.add_argument("--odoo-leads", type=int, default=route.DEFAULT_ODOO_LEADS,
                         help="leads given to Odoo's _action_assign_leads (default: 1,000; 0: skip it)")
    predictive = parser.add_argument_group("model and train")
    predictive.add_argument("--dataset", choices=sorted(model_data.DATASETS),
                            help="(model) the public data set, default x_education")
    predictive.add_argument("--data-dir", type=Path,
                            help="(model) folder holding the data sets, default BENCH_DATASETS or ../shared/datasets")
    predictive.add_argument("--closed-events", type=int,
                            help="(train, tune) events logged on each closed lead before training or tuning "
                                 "(default: 8; 0: none)")
    args = parser.parse_args(argv)
    if args.batch_size is None:
        args.batch_size = SCENARIO_BATCH_SIZE.get(args.scenario, DEFAULT_BATCH_SIZE)
    if args.leads is None and args.scenario not in LEADS_OPTIONAL:
        args.leads = DEFAULT_LEADS.get(args.scenario)
        if args.leads is None:
            parser.error(f"the {args.scenario} scenario needs --leads")
    return args


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s bench %(name)s: %(message)s")
    SCENARIOS[args.scenario](args)


if __name__ == "__main__":
    main()
