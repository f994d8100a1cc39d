"""Benchmarks of lead_intelligence against Odoo's own scoring and the floor PostgreSQL allows.

    python bench/run.py rescore --leads N [--db NAME] [--rules 30] [--keep]

Creates (or reuses) a scratch database, prints one JSON line per measurement on
stdout and logs on stderr. See bench/README.md for what each line means.
"""

import argparse
import logging
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import rescore

SCENARIOS = {"rescore": rescore.run}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--leads", type=int, required=True, help="number of leads to generate")
    parser.add_argument("--db", help="scratch database (default: li_bench_<leads>)")
    parser.add_argument("--rules", type=int, default=30, help="number of fit rules (default: 30)")
    parser.add_argument("--keep", action="store_true",
                        help="keep a database this run created, so that the next run reuses it")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s bench %(name)s: %(message)s")
    SCENARIOS[args.scenario](args)


if __name__ == "__main__":
    main()
