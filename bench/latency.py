"""Scenario ``latency``: seconds from an API call to the new score, on a running Odoo with its cron workers.

On the scratch database, with an empty event log, every lead scored and every
event counted (a drain in a worker process first):

1. A worker process creates an integration user (salesman and *Lead
   Intelligence: Event API*) and its API key.
2. Every job of the database is set to run next in a day and its triggers are
   deleted: only the triggers the calls make wake the job of changed leads and
   the count job.
3. ``odoo-bin`` serves the database with ``--max-cron-threads=2`` (threads of
   the threaded server, then cron worker processes with ``--workers 2``).
4. A background client posts batches of ``--batch-size`` events on random open
   leads to ``POST /lead_intelligence/v1/events`` at about ``--rate`` events per
   second for the whole run: the count job always has work.
5. ``--clients`` probe threads make ``--requests`` calls in all, alternately:

   * ``json2_create``: ``POST /json/2/crm.lead/create`` of one lead; done when
     the lead is no longer flagged dirty and has its row of scores;
   * ``api_event``: ``POST /lead_intelligence/v1/events`` of one event on a
     random open lead; done when the event is counted (off the queue): counting
     rescores the lead in the same transaction.

   Each probe polls PostgreSQL (committed rows, as any reader of the score sees
   them) every ``POLL_SECONDS`` until done, ``GIVE_UP_SECONDS`` at most.

One JSON line per server mode and call: the seconds from sending the call to
the score being readable (p50, p95, max), the calls that never got there, and
what the background sent. The target is a p95 under ``TARGET_P95_S``.
"""

import logging
import threading
import time

import numpy as np
import requests

from bench import scratchdb
from bench.behaviour_data import open_lead_ids, reset_behaviour
from bench.ingest import API_PATH, BROWSERS, EventBatches, OdooServer
from bench.scratchdb import emit

_logger = logging.getLogger(__name__)

SERVER_MODES = (0, 2)  # odoo-bin --workers: the threaded server, then two HTTP worker processes
CRON_WORKERS = 2
DEFAULT_REQUESTS = 300
DEFAULT_RATE = 500  # background events per second
DEFAULT_BATCH_SIZE = 100  # background events per request
TARGET_P95_S = 10.0
POLL_SECONDS = 0.05
GIVE_UP_SECONDS = 120.0
REQUEST_TIMEOUT = 60
JSON2_CREATE = "/json/2/crm.lead/create"
PROBE_EVENT_TYPE = "download"
SEED = 7


def run(args):
    scratchdb.run_scenario(args, lambda db: Latency(db, args))


class Latency:
    def __init__(self, db, args):
        self.db = db
        self.args = args
        self.requests = args.requests or DEFAULT_REQUESTS
        self.rate = args.rate or DEFAULT_RATE
        self.batch_size = args.batch_size or DEFAULT_BATCH_SIZE
        self.common = {"scenario": "latency", "leads": args.leads, "clients": args.clients,
                       "cron_workers": CRON_WORKERS, "background_rate": self.rate,
                       "background_batch_size": self.batch_size}

    def run(self):
        reset_behaviour(self.db)
        scratchdb.run_worker("soak_drain", self.db, self.args.rules)  # every lead scored, nothing to count
        key = scratchdb.run_worker("latency_key", self.db, self.args.rules)["key"]
        for workers in SERVER_MODES:
            hold_jobs(self.db)
            with OdooServer(self.db, workers, cron_threads=CRON_WORKERS) as server:
                background = Background(server.url, key, EventBatches(self.db, self.batch_size), self.rate)
                background.start()
                probes = Probes(self.db, server.url, key, self.args.clients, f"w{workers}")
                results = probes.run(self.requests)
                background.stop()
                tracebacks = server.log.tracebacks
            for case, latencies in results.items():
                emit(self.line(case, workers, latencies, background, tracebacks))

    def line(self, case, workers, run, background, tracebacks):
        seconds = np.array(run["seconds"])

        def percentile(q):
            return round(float(np.percentile(seconds, q)), 3) if len(seconds) else None

        p95 = percentile(95)
        return {
            **self.common, "server_workers": workers, "case": case, "calls": run["calls"],
            "readable": len(seconds), "never_readable": run["calls"] - len(seconds) - run["errors"],
            "errors": run["errors"], "p50_s": percentile(50), "p95_s": p95, "max_s": percentile(100),
            "target_p95_s": TARGET_P95_S,
            "met": p95 is not None and p95 < TARGET_P95_S and run["calls"] == len(seconds),
            "background_events_per_s": round(background.events / background.seconds),
            "background_errors": background.errors, "server_tracebacks": tracebacks,
        }


def hold_jobs(db):
    """Every job of the database runs next in a day, its triggers gone: only the calls' triggers wake one."""
    with scratchdb.cursor(db) as cr:
        cr.execute("DELETE FROM ir_cron_trigger")
        cr.execute("UPDATE ir_cron SET nextcall = now() AT TIME ZONE 'UTC' + interval '1 day' WHERE active")


def create_latency_key(env):
    """(worker) An internal user who may create leads and send events, and a new API key."""
    users = env["res.users"].with_context(active_test=False)
    login = "bench_latency"
    user = users.search([("login", "=", login)])
    groups = [env.ref(xmlid).id for xmlid in (
        "base.group_user", "sales_team.group_sale_salesman_all_leads",
        "lead_intelligence.group_lead_intelligence_api")]
    if not user:
        user = users.create({"name": "Bench Latency", "login": login, "group_ids": [(6, 0, groups)]})
    env["res.users.apikeys"].search([("user_id", "=", user.id)]).sudo()._remove()
    key = env["res.users.apikeys"].with_user(user).sudo()._generate(None, "bench latency", None)
    env.cr.commit()
    return {"key": key, "uid": user.id}


def session(key):
    http = requests.Session()
    http.headers.update({"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    return http


class Background(threading.Thread):
    """Posts batches of events at about ``rate`` events per second until stopped."""

    def __init__(self, url, key, batches, rate):
        super().__init__(daemon=True)
        self.url = url
        self.http = session(key)
        self.batches = batches
        self.interval = batches.batch_size / rate
        self.events = 0
        self.errors = 0
        self.seconds = 0.0
        self._stop_event = threading.Event()

    def run(self):
        started = time.monotonic()
        sent = 0
        while not self._stop_event.is_set():
            body = self.batches.api(f"bg-{time.time_ns()}")
            try:
                response = self.http.post(self.url + API_PATH, data=body, timeout=REQUEST_TIMEOUT)
                if response.status_code == 200:
                    self.events += self.batches.batch_size
                else:
                    self.errors += 1
            except requests.RequestException:
                self.errors += 1
            sent += 1
            # paced on the clock: a slow answer is not followed by a slower rate
            self._stop_event.wait(max(0.0, started + sent * self.interval - time.monotonic()))
        self.seconds = time.monotonic() - started

    def stop(self):
        self._stop_event.set()
        self.join()


class Probes:
    """``threads`` clients making the timed calls, each followed until its score is readable."""

    def __init__(self, db, url, key, threads, prefix):
        self.db = db
        self.url = url
        self.key = key
        self.threads = threads
        self.prefix = prefix
        self.leads = open_lead_ids(db)
        self.rng = np.random.default_rng(SEED)
        self.lock = threading.Lock()

    def run(self, calls):
        pending = [("json2_create" if i % 2 == 0 else "api_event", i) for i in range(calls)]
        pending.reverse()
        results = {case: {"calls": 0, "seconds": [], "errors": 0} for case in ("json2_create", "api_event")}

        def work():
            http = session(self.key)
            with scratchdb.cursor(self.db, autocommit=True) as cr:
                while True:
                    with self.lock:
                        if not pending:
                            return
                        case, index = pending.pop()
                        lead_id = int(self.rng.choice(self.leads))
                    seconds = self.call(http, cr, case, index, lead_id)
                    with self.lock:
                        results[case]["calls"] += 1
                        if seconds is None:
                            results[case]["errors"] += 1
                        elif seconds is not False:
                            results[case]["seconds"].append(seconds)

        threads = [threading.Thread(target=work) for _ in range(self.threads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return results

    def call(self, http, cr, case, index, lead_id):
        """Seconds from sending the call to its score being readable; None: the call failed; False: never."""
        started = time.perf_counter()
        if case == "json2_create":
            response = http.post(self.url + JSON2_CREATE, timeout=REQUEST_TIMEOUT, json={"vals_list": [{
                "name": f"Latency probe {self.prefix}-{index}", "type": "lead", "function": "CEO",
                "expected_revenue": 40000 + index, "email_from": f"probe{index}@latency.example.com"}]})
            if response.status_code != 200:
                _logger.warning("create failed: %s %s", response.status_code, response.text[:300])
                return None
            [new_id] = response.json()
            query, params = ("SELECT 1 FROM crm_lead WHERE id = %s AND score_line_id IS NOT NULL "
                             "AND NOT EXISTS (SELECT 1 FROM crm_lead_dirty WHERE lead_id = crm_lead.id)", [new_id])
        else:
            external_id = f"probe-{self.prefix}-{index}"
            response = http.post(self.url + API_PATH, timeout=REQUEST_TIMEOUT, json={"events": [{
                "type": PROBE_EVENT_TYPE, "lead_id": lead_id, "external_id": external_id, "user_agent": BROWSERS[0],
                "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}]})
            if response.status_code != 200 or response.json().get("accepted") != 1:
                _logger.warning("event refused: %s %s", response.status_code, response.text[:300])
                return None
            query, params = ("""SELECT 1 FROM crm_lead_event e WHERE e.external_id = %s
                                  AND NOT EXISTS (SELECT 1 FROM crm_lead_event_queue q WHERE q.event_id = e.id)""",
                             [external_id])
        while time.perf_counter() - started < GIVE_UP_SECONDS:
            cr.execute(query, params)
            if cr.fetchone():
                return time.perf_counter() - started
            time.sleep(POLL_SECONDS)
        return False
