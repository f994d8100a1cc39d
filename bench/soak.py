"""Scenario ``soak``: a multi-process Odoo under events, counting, full passes and routing at once.

On a routing database (``bench.route``: generated leads made new and unassigned,
50 salespeople with capacities, routing rules; its own, ``li_bench_soak_<N>``),
with an empty event log and every lead to route again:

1. A worker process creates the Event API user and its key (as ``ingest``).
2. ``odoo-bin`` serves the database on 127.0.0.1 only, with ``--server-workers``
   HTTP worker processes, ``--cron-workers`` cron worker processes and the
   long-polling process: the cron workers run the addon's jobs as in production.
3. For ``--seconds`` or until ``--requests`` requests are answered, whichever
   comes first, ``--clients`` threads post batches of ``--batch-size`` events
   to ``POST /lead_intelligence/v1/events``. Some events reuse an external ID
   another request sent (``REUSED_SHARE``: duplicates, sometimes in flight at
   the same time), some batches are sent again whole (``REPLAYED_SHARE``: a
   client's retry), some events are invalid (``INVALID_SHARE``: rejected).
   Meanwhile a driver thread triggers the jobs as ``ir.cron._trigger`` does (a
   trigger row, then ``NOTIFY cron_trigger``): the count job every
   ``COUNT_EVERY`` seconds, routing every ``ROUTE_EVERY`` seconds, the job of
   changed leads every ``DIRTY_EVERY`` seconds and the nightly full pass
   ``FULL_PASSES`` times.
4. The clients stop; the count job, the job of changed leads and routing are
   triggered until none has anything left (``DRAIN_SECONDS`` at most); the
   server stops. What the cron workers left to count or score, if anything, is
   done in a worker process (the final drain).
5. Invariants, by SQL: every event an answer accepted is logged once; no event
   is left queued; each lead's counters equal the sums of its counted events;
   every open lead is scored and tiered; no salesperson holds more open leads
   of a tier than their capacity for it, none unavailable got any; no answer
   was a 5xx.

Two JSON lines: ``load`` (what was sent and answered, the jobs triggered and
run) and ``checks`` (the invariants; ``ok`` when all hold).
"""

import json
import logging
import threading
import time
from collections import Counter

import numpy as np
import requests

from bench import route, scratchdb
from bench.behaviour_data import COUNTER_COLUMNS, event_values, load_event_types, open_lead_ids, reset_behaviour
from bench.ingest import API_PATH, BROWSERS, OdooServer
from bench.scratchdb import emit

_logger = logging.getLogger(__name__)

DEFAULT_LEADS = 3_000
DEFAULT_SECONDS = 120
DEFAULT_REQUESTS = 3_000
DEFAULT_BATCH_SIZE = 50
DEFAULT_CRON_WORKERS = 2
SEED = 5
SPAN_SECONDS = 7 * 86400  # events happened over the last week
REUSED_SHARE = 0.05  # events whose external ID was sent before, by any client
REPLAYED_SHARE = 0.05  # requests that send an earlier body again, as a client retrying
INVALID_SHARE = 0.01  # events with an unknown type or lead: rejected
COUNT_EVERY, ROUTE_EVERY, DIRTY_EVERY = 5.0, 20.0, 15.0
FULL_PASSES = 2  # nightly full passes during the soak, evenly spread
DRAIN_SECONDS = 120
REQUEST_TIMEOUT = 120
CRONS = {"count": "ir_cron_count_events", "route": "ir_cron_route_leads", "dirty": "ir_cron_rescore_dirty_leads",
         "full_pass": "ir_cron_rescore_all_leads"}
# what an event adds to each counter: 'value' (its value, seconds) or 1
VALUE_COUNTERS = {"time_on_site"}


def run(args):
    db = args.db or f"li_bench_soak_{args.leads}"
    created = route.ensure_database(db, args.leads, args.rules)
    try:
        with scratchdb.configuration_kept(db, "soak"):
            Soak(db, args).run()
    finally:
        if created and not args.keep:
            scratchdb.drop_database(db)


class Soak:
    def __init__(self, db, args):
        self.db = db
        self.args = args
        self.seconds = args.seconds or DEFAULT_SECONDS
        self.max_requests = args.requests or DEFAULT_REQUESTS
        self.cron_workers = DEFAULT_CRON_WORKERS if args.cron_workers is None else args.cron_workers
        self.common = {"scenario": "soak", "leads": route.count_leads(db), "clients": args.clients,
                       "batch_size": args.batch_size, "server_workers": args.server_workers,
                       "cron_workers": self.cron_workers}

    def run(self):
        reset_behaviour(self.db)
        route.reset_routing(self.db)
        crons = cron_ids(self.db)
        with scratchdb.cursor(self.db) as cr:  # the jobs run when the soak triggers them, not before
            cr.execute("DELETE FROM ir_cron_trigger WHERE cron_id = ANY(%s)", [list(crons.values())])
            cr.execute("UPDATE ir_cron SET nextcall = now() AT TIME ZONE 'UTC' + interval '1 day' "
                       "WHERE id = ANY(%s)", [list(crons.values())])
        key = scratchdb.run_worker("api_key", self.db, self.args.rules)["key"]
        batches = Batches(self.db, self.args.batch_size)
        started_at = scratchdb.scalar(self.db, "SELECT now() AT TIME ZONE 'UTC'")
        with OdooServer(self.db, self.args.server_workers, cron_threads=self.cron_workers) as server:
            driver = CronDriver(self.db, crons, self.seconds)
            clients = Clients(server.url, key, self.args.clients, batches)
            driver.start()
            load = clients.run(self.seconds, self.max_requests)
            driver.stop()
            drained = drain(self.db, crons)
            tracebacks = server.log.tracebacks
        final = scratchdb.run_worker("soak_drain", self.db, self.args.rules)
        runs = cron_runs(self.db, crons, started_at)
        emit({**self.common, "case": "load", **load, "server_tracebacks": tracebacks,
              "cron_triggers": driver.triggers, "cron_runs": runs, "left_when_load_stopped": drained["at_start"]})
        checks = check_invariants(self.db, load)
        checks.update(pending_after_cron_drain=drained["pending"], dirty_after_cron_drain=drained["dirty"],
                      to_route_after_cron_drain=drained["to_route"], drain_seconds=drained["seconds"],
                      final_drain_counted=final["counted"], final_drain_rescored=final["rescored"])
        checks["ok"] = not any(checks[name] for name in (
            "lost", "logged_twice", "pending", "counter_mismatches", "unscored", "members_over_capacity",
            "unavailable_used", "http_5xx")) and checks["pending_after_cron_drain"] == 0
        emit({**self.common, "case": "checks", **checks})


# ------------------------------------------------------------
# the load: clients and the jobs' triggers
# ------------------------------------------------------------

class Batches:
    """Request bodies drawn from one seeded generator, shared by the client threads (under a lock)."""

    def __init__(self, db, batch_size, seed=SEED):
        self.rng = np.random.default_rng(seed)
        self.batch_size = batch_size
        self.leads = open_lead_ids(db)
        with scratchdb.cursor(db) as cr:
            self.types = load_event_types(cr)
            cr.execute("SELECT extract(epoch FROM now())::float8")
            self.now = cr.fetchone()[0]
        self.lock = threading.Lock()
        self.sent_ids = []
        self.sent_bodies = []
        self.counter = 0
        self.stats = Counter()

    def next(self):
        """A body to send: a new batch, or now and then one sent before (a retry)."""
        with self.lock:
            if self.sent_bodies and self.rng.random() < REPLAYED_SHARE:
                self.stats["replayed_requests"] += 1
                return self.sent_bodies[int(self.rng.integers(len(self.sent_bodies)))]
            body = json.dumps({"events": self._draw()}).encode()
            self.sent_bodies.append(body)
            return body

    def _draw(self):
        rng, size = self.rng, self.batch_size
        type_index = self.types.draw(rng, size)
        codes = np.array(self.types.codes, dtype=object)[type_index]
        leads = rng.choice(self.leads, size)
        times = np.floor(self.now - rng.uniform(0, SPAN_SECONDS, size)).astype("datetime64[s]")
        values = event_values(rng, codes)
        events = []
        for i in range(size):
            if self.sent_ids and rng.random() < REUSED_SHARE:
                external_id = self.sent_ids[int(rng.integers(len(self.sent_ids)))]
                self.stats["reused_external_ids"] += 1
            else:
                self.counter += 1
                external_id = f"soak-{self.counter}"
                self.sent_ids.append(external_id)
            event = {"type": codes[i], "occurred_at": f"{times[i]}Z", "lead_id": int(leads[i]),
                     "external_id": external_id, "user_agent": BROWSERS[i % len(BROWSERS)]}
            if values[i] == values[i]:  # not NaN
                event["value"] = float(values[i])
            if rng.random() < INVALID_SHARE:
                self.stats["invalid_events"] += 1
                if rng.random() < 0.5:
                    event["type"] = "no_such_type"
                else:
                    event["lead_id"] = 0
            events.append(event)
        self.stats["events_drawn"] += size
        return events


class Clients:
    """``threads`` HTTP clients, each with a kept-alive connection, posting bodies until told to stop."""

    def __init__(self, url, key, threads, batches):
        self.url = url + API_PATH
        self.batches = batches
        self.sessions = [requests.Session() for _ in range(threads)]
        for session in self.sessions:
            session.headers.update({"Authorization": f"Bearer {key}", "Content-Type": "application/json"})

    def run(self, seconds, max_requests):
        lock = threading.Lock()
        statuses, answers, latencies, errors = Counter(), Counter(), [], []
        sent = [0]
        deadline = time.monotonic() + seconds

        def work(session):
            while time.monotonic() < deadline:
                with lock:
                    if sent[0] >= max_requests:
                        return
                    sent[0] += 1
                body = self.batches.next()
                started = time.perf_counter()
                try:
                    response = session.post(self.url, data=body, timeout=REQUEST_TIMEOUT)
                except requests.RequestException as error:
                    with lock:
                        errors.append(str(error))
                    continue
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    statuses[response.status_code] += 1
                    if response.status_code == 200:
                        answer = response.json()
                        for status in ("accepted", "duplicate", "rejected"):
                            answers[status] += answer[status]
                    elif response.status_code >= 500:
                        errors.append(f"{response.status_code} {response.text[:300]}")

        started = time.perf_counter()
        threads = [threading.Thread(target=work, args=(session,)) for session in self.sessions]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        if errors:
            _logger.warning("%d failed requests, the first: %s", len(errors), errors[0])
        latencies_ms = np.array(latencies or [0.0]) * 1000.0
        http_5xx = sum(count for status, count in statuses.items() if status >= 500)
        return {
            "seconds": round(elapsed, 1), "requests": sum(statuses.values()), "statuses": dict(statuses),
            "http_5xx": http_5xx, "connection_errors": len(errors) - http_5xx,
            "events_answered": sum(answers.values()), "accepted": answers["accepted"],
            "duplicate": answers["duplicate"], "rejected": answers["rejected"],
            "events_per_s": round(sum(answers.values()) / elapsed),
            "accepted_per_s": round(answers["accepted"] / elapsed),
            "requests_per_s": round(sum(statuses.values()) / elapsed, 1),
            "p50_ms": round(float(np.percentile(latencies_ms, 50)), 1),
            "p95_ms": round(float(np.percentile(latencies_ms, 95)), 1),
            "max_ms": round(float(latencies_ms.max()), 1), **self.batches.stats,
        }


class CronDriver(threading.Thread):
    """Triggers the addon's jobs during the soak, as ``ir.cron._trigger`` does."""

    def __init__(self, db, crons, seconds):
        super().__init__(daemon=True)
        self.db = db
        self.crons = crons
        self.every = {"count": COUNT_EVERY, "route": ROUTE_EVERY, "dirty": DIRTY_EVERY,
                      "full_pass": seconds / (FULL_PASSES + 1)}
        self.triggers = Counter()
        self._stop_event = threading.Event()

    def run(self):
        started = time.monotonic()
        last = dict.fromkeys(self.every, started)
        while not self._stop_event.wait(1.0):
            now = time.monotonic()
            due = [name for name, every in self.every.items() if now - last[name] >= every]
            if "full_pass" in due and self.triggers["full_pass"] >= FULL_PASSES:
                due.remove("full_pass")
            if due:
                trigger(self.db, [self.crons[name] for name in due])
                for name in due:
                    last[name] = now
                    self.triggers[name] += 1

    def stop(self):
        self._stop_event.set()
        self.join()


def cron_ids(db):
    with scratchdb.cursor(db) as cr:
        cr.execute("SELECT name, res_id FROM ir_model_data WHERE module = 'lead_intelligence' AND name = ANY(%s)",
                   [list(CRONS.values())])
        ids = dict(cr.fetchall())
    return {name: ids[xmlid] for name, xmlid in CRONS.items()}


def trigger(db, cron_ids_due):
    """What ``ir.cron._trigger`` does: a trigger row due now, then wake the cron workers up."""
    with scratchdb.cursor(db) as cr:
        cr.execute("INSERT INTO ir_cron_trigger (cron_id, call_at) "
                   "SELECT unnest(%s::int[]), now() AT TIME ZONE 'UTC'", [cron_ids_due])
    with scratchdb.cursor("postgres", autocommit=True) as cr:
        cr.execute("SELECT pg_notify('cron_trigger', %s)", [db])


def drain(db, crons):
    """Trigger the count job, the job of changed leads and routing until none has anything left to do,
    ``DRAIN_SECONDS`` at most."""
    started = time.monotonic()
    at_start = None
    while True:
        with scratchdb.cursor(db) as cr:
            cr.execute("SELECT count(*) FROM crm_lead_event_queue")
            pending = cr.fetchone()[0]
            # pylint: disable-next=sql-injection  # module constants only
            cr.execute(f"""SELECT count(*) FILTER (WHERE {scratchdb.DIRTY.string}),
                                  count(*) FILTER (WHERE routing_state = 'to_route')
                             FROM crm_lead WHERE {scratchdb.OPEN_LEADS.string}""")
            dirty, to_route = cr.fetchone()
        at_start = at_start or {"pending": pending, "dirty": dirty, "to_route": to_route}
        if not (pending or dirty or to_route) or time.monotonic() - started > DRAIN_SECONDS:
            return {"pending": pending, "dirty": dirty, "to_route": to_route, "at_start": at_start,
                    "seconds": round(time.monotonic() - started, 1)}
        trigger(db, [crons["count"], crons["dirty"], crons["route"]])
        time.sleep(3)


def cron_runs(db, crons, since):
    """Runs of each job since the soak started (``ir.cron.progress`` rows, one per run)."""
    with scratchdb.cursor(db) as cr:
        cr.execute("SELECT cron_id, count(*) FROM ir_cron_progress WHERE create_date >= %s GROUP BY cron_id",
                   [since])
        runs = dict(cr.fetchall())
    return {name: runs.get(cron_id, 0) for name, cron_id in crons.items()}


# ------------------------------------------------------------
# the invariants (SQL)
# ------------------------------------------------------------

def final_drain(env):
    """(worker) Count what the cron workers left, then score the changed leads, in this process."""
    env.cr.execute("SELECT count(*) FROM crm_lead_event_queue")
    pending = env.cr.fetchone()[0]
    env["crm.lead.event"]._cron_count_events()
    env.cr.execute(f"SELECT count(*) FROM crm_lead WHERE {scratchdb.OPEN_LEADS.string} AND {scratchdb.DIRTY.string}")
    dirty = env.cr.fetchone()[0]
    env["crm.lead"]._cron_rescore_dirty_leads()
    env.cr.commit()
    return {"counted": pending, "rescored": dirty}


def check_invariants(db, load):
    with scratchdb.cursor(db) as cr:
        cr.execute("SELECT count(*), count(DISTINCT external_id) FROM crm_lead_event WHERE source = 'api'")
        logged, distinct_ids = cr.fetchone()
        cr.execute("SELECT count(*) FROM crm_lead_event_queue")
        pending = cr.fetchone()[0]
        cr.execute("""SELECT count(*) FILTER (WHERE filter_reason IS NULL),
                              count(*) FILTER (WHERE filter_reason IS NOT NULL)
                         FROM crm_lead_event""")
        counted, filtered = cr.fetchone()
        mismatches, cells = counter_mismatches(cr)
        # pylint: disable-next=sql-injection  # module constants only
        cr.execute(f"""SELECT count(*) FILTER (WHERE tier_id IS NULL OR score_line_id IS NULL),
                              count(*) FILTER (WHERE {scratchdb.DIRTY.string})
                         FROM crm_lead WHERE {scratchdb.OPEN_LEADS.string}""")
        unscored, dirty = cr.fetchone()
    routing = route.check_routing(db)
    return {
        "accepted": load["accepted"], "logged": logged, "lost": max(load["accepted"] - logged, 0),
        "logged_twice": logged - distinct_ids, "unanswered_logged": max(logged - load["accepted"], 0),
        "pending": pending, "counted": counted, "filtered": filtered,
        "counter_mismatches": mismatches, "counter_mismatch_cells": cells,
        "unscored": unscored, "dirty": dirty, "routed": routing["routed"],
        "routing_states": routing["states"], "members_over_capacity": routing["members_over_capacity"],
        "leads_over_capacity": routing["over_capacity"], "unavailable_used": routing["unavailable_used"],
        "http_5xx": load["http_5xx"],
    }


def counter_mismatches(cr):
    """Leads whose counters differ from the sums of their counted events, and the (lead, counter) cells that do.

    A counted event is logged, not filtered and no longer queued; it adds its
    value (seconds) to the time on site, 1 to its type's counter and 1 to the
    buying signals when its type is one.
    """
    def expected(column):
        added = "COALESCE(e.value, 0)" if column in VALUE_COUNTERS else "1"
        condition = "t.counter_field = %(c)s" + (" OR t.is_buying_signal" if column == "buying_signal_count" else "")
        return cr.mogrify(f"sum(CASE WHEN {condition} THEN {added} ELSE 0 END) AS {column}", {"c": column}).decode()

    differs = " OR ".join(f"COALESCE(l.{column}, 0) <> round(COALESCE(x.{column}, 0))" for column in COUNTER_COLUMNS)
    cells = " + ".join(f"(COALESCE(l.{column}, 0) <> round(COALESCE(x.{column}, 0)))::int"
                       for column in COUNTER_COLUMNS)
    # pylint: disable-next=sql-injection  # module constants only
    cr.execute(f"""
        WITH x AS (
            SELECT e.lead_id, {', '.join(expected(column) for column in COUNTER_COLUMNS)}
              FROM crm_lead_event e JOIN crm_lead_event_type t ON t.id = e.type_id
             WHERE e.filter_reason IS NULL
               AND NOT EXISTS (SELECT 1 FROM crm_lead_event_queue q WHERE q.event_id = e.id)
             GROUP BY e.lead_id)
        SELECT count(*), COALESCE(sum({cells}), 0)::int
          FROM crm_lead l LEFT JOIN x ON x.lead_id = l.id
         WHERE {differs}""")
    return cr.fetchone()
