"""Scenario ``segmentation``: the nightly pass with RFM and ABC, content interest and the account
roll-up against the same pass without them, and a clustering of the open leads.

On the scratch database (a third of the leads open):

1. ``segmentation_setup`` (by SQL, untimed; the same on a second run): one company per 20 leads
   (``res_partner``, its own commercial entity) given to the leads in turn; a won deal's closing
   spread over the last 400 days; engagement rows for the open leads
   (``bench.behaviour_data.fill_engagement``) and their last counted event; three content topics
   and 0 to 3 interest rows per open lead. Completeness is a stored field of the lead, computed as
   it is written: no work at night, nothing to set up.
2. An untimed full pass with everything, so that both measured passes start from a steady state.
3. ``without``: the full pass timed with the three refreshes (``_refresh_rfm``,
   ``_refresh_top_topics``, ``_refresh_account_scores``) replaced by nothing; ``with``: the full
   pass timed as it runs at night. The issue's target: ``with`` within 1.5 times ``without``.
4. ``clusters``: a segmentation run (``crm.lead.cluster.run.action_run``, the number of segments
   chosen by silhouette) on every open lead, with its peak memory. Target: under 2 minutes and 1 GB
   at 1,000,000 leads.

The runs' segments are deleted afterwards (the passes would keep assigning them), and the
configuration is printed before and checked after, as every scenario does.
"""

import logging

from bench import scratchdb
from bench.behaviour_data import fill_engagement, reset_behaviour
from bench.rescore import count_open
from bench.scratchdb import emit

_logger = logging.getLogger(__name__)

TARGET_RATIO = 1.5
CLUSTER_SECONDS = 120
CLUSTER_RSS_MB = 1024
LEADS_PER_COMPANY = 20


def run(args):
    scratchdb.run_scenario(args, lambda db: Measurements(db, args))


class Measurements:
    def __init__(self, db, args):
        self.db = db
        self.rules = args.rules
        self.common = {"scenario": "segmentation", "leads": args.leads, "open": count_open(db)}

    def run(self):
        reset_behaviour(self.db)
        engaged, rows = fill_engagement(self.db)
        setup = scratchdb.run_worker("segmentation_setup", self.db, self.rules)
        _logger.info("set-up: %s, %d leads engaged (%d rows)", setup, engaged, rows)
        scratchdb.run_worker("segmentation_pass", self.db, self.rules, {"refresh": True})
        lines = {}
        for case, refresh in (("without", False), ("with", True)):
            for table in ("crm_lead", "crm_lead_score", "res_partner"):
                scratchdb.vacuum(self.db, table)
            measure = scratchdb.run_worker("segmentation_pass", self.db, self.rules, {"refresh": refresh})
            lines[case] = emit({**self.common, "case": case, **setup, "seconds": round(measure["seconds"], 3),
                                "peak_rss_mb": round(measure["peak_rss_mb"], 1), "phases": measure["phases"]})
        ratio = lines["with"]["seconds"] / lines["without"]["seconds"]
        emit({**self.common, "case": "with_vs_without", "ratio": round(ratio, 2), "target_ratio": TARGET_RATIO,
              "met": ratio <= TARGET_RATIO})
        clusters = scratchdb.run_worker("segmentation_clusters", self.db, self.rules)
        emit({**self.common, "case": "clusters", **clusters, "target_seconds": CLUSTER_SECONDS,
              "target_rss_mb": CLUSTER_RSS_MB,
              "met": clusters["seconds"] < CLUSTER_SECONDS and clusters["peak_rss_mb"] < CLUSTER_RSS_MB})
        reset_behaviour(self.db)


def setup(env):
    """Companies for the leads, closing dates, last events, topics and interest (see the module); commit."""
    cr = env.cr
    cr.execute("SELECT count(*) FROM res_partner WHERE name LIKE 'Bench account %'")
    if not cr.fetchone()[0]:
        cr.execute("SELECT count(*) FROM crm_lead")
        companies = cr.fetchone()[0] // LEADS_PER_COMPANY + 1
        cr.execute(
            """INSERT INTO res_partner (name, complete_name, is_company, active, type, autopost_bills)
               SELECT 'Bench account ' || n, 'Bench account ' || n, TRUE, TRUE, 'contact', 'ask'
                 FROM generate_series(1, %s) AS n""" if _has_column(cr, "res_partner", "autopost_bills") else
            """INSERT INTO res_partner (name, complete_name, is_company, active, type)
               SELECT 'Bench account ' || n, 'Bench account ' || n, TRUE, TRUE, 'contact'
                 FROM generate_series(1, %s) AS n""", [companies])
        cr.execute("UPDATE res_partner SET commercial_partner_id = id WHERE name LIKE 'Bench account %'")
        cr.execute(
            """WITH accounts AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS position FROM res_partner
                                  WHERE name LIKE 'Bench account %'),
                    total AS (SELECT count(*) AS n FROM accounts)
               UPDATE crm_lead SET partner_id = accounts.id
                 FROM accounts, total WHERE accounts.position = crm_lead.id % total.n""")
    cr.execute(
        """UPDATE crm_lead SET date_closed = now() at time zone 'UTC' - make_interval(days => id % 400)
            WHERE won_status = 'won'""")
    cr.execute(
        """UPDATE crm_lead lead SET last_engagement_date = sub.ref
             FROM (SELECT lead_id, max(ref_date) AS ref FROM crm_lead_engagement GROUP BY lead_id) sub
            WHERE lead.id = sub.lead_id""")
    Topic = env["crm.lead.topic"].with_context(active_test=False)
    names = ["Bench warehouse", "Bench pricing", "Bench reports"]
    topics = Topic.search([("name", "in", names)])
    if not topics:
        # created by SQL: creating them by the ORM rebuilds every lead's interest from the log
        cr.execute(
            """INSERT INTO crm_lead_topic (name, sequence, active, url_patterns, half_life)
               SELECT jsonb_build_object('en_US', name), 10, TRUE, '/bench/' || name || '*', 30
                 FROM unnest(%s::varchar[]) AS name""", [names])
        topics = Topic.search([("name", "in", names)])
    cr.execute("DELETE FROM crm_lead_topic_interest")
    cr.execute(
        """INSERT INTO crm_lead_topic_interest (lead_id, topic_id, units, ref_date)
           SELECT lead.id, topic.id, 1 + (lead.id %% 7), now() at time zone 'UTC' - make_interval(days => lead.id %% 30)
             FROM crm_lead lead CROSS JOIN unnest(%s::int[]) WITH ORDINALITY AS topic(id, position)
            WHERE lead.active AND lead.won_status = 'pending' AND topic.position <= lead.id %% 4""", [topics.ids])
    interest = cr.rowcount
    env.cr.commit()
    cr.execute("SELECT count(*) FROM res_partner WHERE name LIKE 'Bench account %'")
    return {"accounts": cr.fetchone()[0], "interest_rows": interest}


def _has_column(cr, table, column):
    cr.execute("SELECT 1 FROM information_schema.columns WHERE table_name = %s AND column_name = %s",
               [table, column])
    return bool(cr.fetchone())


def full_pass(env, refresh):
    """The nightly full pass, timed by phase, with the three refreshes or without them."""
    from unittest.mock import patch

    from bench.event_tasks import full_pass as timed_pass

    if refresh:
        return timed_pass(env)
    Lead = type(env["crm.lead"])
    with patch.object(Lead, "_refresh_rfm", lambda self: {}), \
            patch.object(Lead, "_refresh_top_topics", lambda self: None), \
            patch.object(Lead, "_refresh_account_scores", lambda self, lead_ids=None: 0):
        return timed_pass(env)


def clusters(env):
    """Time a segmentation run on the open leads, then delete its segments; return its figures."""
    import time

    from bench.worker import rss_mb

    started = time.perf_counter()
    run = env["crm.lead.cluster.run"].create({"seed": 0})
    run.action_run()
    seconds = time.perf_counter() - started
    figures = {"seconds": round(seconds, 3), "peak_rss_mb": round(rss_mb(), 1), "segments": len(run.cluster_ids),
               "silhouette": round(run.silhouette, 3), "assigned": run.lead_count}
    env.cr.execute("UPDATE crm_lead SET cluster_id = NULL WHERE cluster_id IS NOT NULL")
    env["crm.lead.cluster.run"].search([]).unlink()
    env.cr.commit()
    return figures
