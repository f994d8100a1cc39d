"""Scenario ``ingest``: events sent to a real Odoo server, our API against Odoo's own external API.

On the scratch database, with an empty event log:

1. A worker process creates an integration user in the group *Lead Intelligence:
   Event API* and an API key for it (``res.users.apikeys._generate``).
2. ``odoo-bin`` serves the database (``--workers`` HTTP worker processes, or
   threaded with ``--server-workers 0``; ``--max-cron-threads=0`` so that the
   count job does not run meanwhile) on a free port of 8201-8209.
3. The batches are built beforehand (events on random open leads, types weighted
   as in ``bench.behaviour_data``, times over the last week, a browser user
   agent, one in a hundred a crawler's) and serialised, so the client's own work
   is not in the figures; each client thread keeps one HTTP connection alive.
4. ``json2_create``: ``--baseline-batches`` batches of the same events, as field
   values, to Odoo 19's external API, ``POST /json/2/crm.lead.event/create``
   (``vals_list``): the model's ``create``, which validates and skips events
   already logged, as an import does.
5. ``api_events``: ``--batches`` batches of ``--batch-size`` events to
   ``POST /lead_intelligence/v1/events``, ``--clients`` threads at once.

Each line gives the events per second over the whole run (first request sent
to last answer received), the request latencies and the server's memory (the
highest sum of the resident memory of its processes, sampled every 0.2 s).
"""

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import requests

from bench import scratchdb
from bench.behaviour_data import event_urls, event_values, load_event_types, open_lead_ids, reset_behaviour
from bench.odoo_env import odoo_bin_command
from bench.scratchdb import emit

_logger = logging.getLogger(__name__)

PORTS = range(8201, 8210)
TARGET_PER_S = 5_000
API_PATH = "/lead_intelligence/v1/events"
JSON2_PATH = "/json/2/crm.lead.event/create"
BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605",
    "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
]
CRAWLER = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
SPAN_SECONDS = 7 * 86400
STARTUP_TIMEOUT = 120


def run(args):
    scratchdb.run_scenario(args, lambda db: Measurements(db, args))


class Measurements:
    def __init__(self, db, args):
        self.db = db
        self.rules = args.rules
        self.batches = args.batches
        self.baseline_batches = args.baseline_batches
        self.batch_size = args.batch_size
        self.clients = args.clients
        self.workers = args.server_workers
        self.common = {"scenario": "ingest", "leads": args.leads, "batch_size": args.batch_size,
                       "clients": args.clients, "server_workers": args.server_workers}

    def run(self):
        reset_behaviour(self.db)
        key = scratchdb.run_worker("api_key", self.db, self.rules)["key"]
        batches = EventBatches(self.db, self.batch_size)
        warm_up = [batches.api(f"warm-{i}", 10) for i in range(2 * self.clients)]
        warm_up_json2 = [batches.json2(f"warm2-{i}", 10) for i in range(2 * self.clients)]
        baseline = [batches.json2(f"j2-{i}") for i in range(self.baseline_batches)]
        ours = [batches.api(f"api-{i}") for i in range(self.batches)]
        _logger.info("%d + %d batches of %d events built", len(baseline), len(ours), self.batch_size)
        with OdooServer(self.db, self.workers) as server:
            client = Client(server.url, key, self.clients)
            client.send(JSON2_PATH, warm_up_json2)
            client.send(API_PATH, warm_up)
            json2 = emit(self.line("json2_create", "odoo_json2", client.send(JSON2_PATH, baseline, server)))
            api = self.line("api_events", "ours", client.send(API_PATH, ours, server))
            api.update(target_per_s=TARGET_PER_S, met=api["per_s"] >= TARGET_PER_S)
            emit(api)
        emit({**api, "baseline": "odoo_json2", "baseline_per_s": json2["per_s"],
              "ratio": round(api["per_s"] / json2["per_s"], 2)})
        _logger.info("event log after the run: %s", count_logged(self.db))

    def line(self, case, impl, run):
        latencies = np.array(run["latencies"]) * 1000.0
        events = run["batches"] * self.batch_size
        return {
            **self.common, "case": case, "impl": impl, "batches": run["batches"], "events": events,
            "seconds": round(run["seconds"], 3), "per_s": round(events / run["seconds"]),
            "p50_ms": round(float(np.percentile(latencies, 50)), 1),
            "p95_ms": round(float(np.percentile(latencies, 95)), 1),
            "max_ms": round(float(latencies.max()), 1), "errors": run["errors"], "logged": run["logged"],
            "server_rss_mb": round(run["server_rss_mb"], 1), "server_tracebacks": run["server_tracebacks"],
        }


class EventBatches:
    """Builds request bodies of events on random open leads, serialised in advance."""

    def __init__(self, db, batch_size, seed=3):
        self.rng = np.random.default_rng(seed)
        self.batch_size = batch_size
        self.leads = open_lead_ids(db)
        with scratchdb.cursor(db) as cr:
            self.types = load_event_types(cr)
            cr.execute("SELECT extract(epoch FROM now())::float8")
            self.now = cr.fetchone()[0]

    def draw(self, prefix, size):
        rng = self.rng
        type_index = self.types.draw(rng, size)
        codes = np.array(self.types.codes, dtype=object)[type_index]
        leads = rng.choice(self.leads, size)
        times = np.floor(self.now - rng.uniform(0, SPAN_SECONDS, size)).astype("datetime64[s]")
        agents = np.where(rng.random(size) < 0.01, CRAWLER, np.array(BROWSERS, dtype=object)[
            rng.integers(0, len(BROWSERS), size)])
        return {
            "code": codes.tolist(), "type_id": self.types.ids[type_index].tolist(), "lead_id": leads.tolist(),
            "time": np.datetime_as_string(times, unit="s").tolist(),
            "value": event_values(rng, codes).tolist(), "url": event_urls(codes, leads).tolist(),
            "agent": agents.tolist(), "external_id": [f"{prefix}-{i}" for i in range(size)],
        }

    def api(self, prefix, size=None):
        """A body for our API: ``{"events": [...]}`` as a website tracker sends it."""
        drawn = self.draw(prefix, size or self.batch_size)
        events = []
        for i, code in enumerate(drawn["code"]):
            event = {"type": code, "occurred_at": drawn["time"][i] + "Z", "lead_id": drawn["lead_id"][i],
                     "external_id": drawn["external_id"][i], "user_agent": drawn["agent"][i]}
            if drawn["value"][i] == drawn["value"][i]:  # not NaN
                event["value"] = drawn["value"][i]
            if drawn["url"][i]:
                event["url"] = drawn["url"][i]
            events.append(event)
        return json.dumps({"events": events}).encode()

    def json2(self, prefix, size=None):
        """A body for ``/json/2/crm.lead.event/create``: the same events as field values."""
        drawn = self.draw(prefix, size or self.batch_size)
        vals_list = []
        for i, type_id in enumerate(drawn["type_id"]):
            vals = {"lead_id": drawn["lead_id"][i], "type_id": type_id,
                    "occurred_at": drawn["time"][i].replace("T", " "), "external_id": drawn["external_id"][i]}
            if drawn["value"][i] == drawn["value"][i]:
                vals["value"] = drawn["value"][i]
            if drawn["url"][i]:
                vals["url"] = drawn["url"][i]
            vals_list.append(vals)
        return json.dumps({"vals_list": vals_list}).encode()


class Client:
    """``threads`` HTTP clients, each with its own kept-alive connection, sending the bodies of a list in turn."""

    def __init__(self, url, key, threads):
        self.url = url
        self.threads = threads
        self.sessions = [requests.Session() for _ in range(threads)]
        for session in self.sessions:
            session.headers.update({"Authorization": f"Bearer {key}", "Content-Type": "application/json"})

    def send(self, path, bodies, server=None):
        """POST every body; return seconds, per-request latencies, errors and the events logged."""
        pending = list(reversed(bodies))
        lock = threading.Lock()
        latencies, errors, logged = [], [], [0]

        def work(session):
            while True:
                with lock:
                    if not pending:
                        return
                    body = pending.pop()
                started = time.perf_counter()
                try:
                    response = session.post(self.url + path, data=body, timeout=600)
                except requests.RequestException as error:
                    errors.append(str(error))
                    continue
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    if response.status_code != 200:
                        errors.append(f"{response.status_code} {response.text[:300]}")
                    else:
                        logged[0] += count_answer(response.json())

        if server:
            server.rss.reset()
            tracebacks = server.log.tracebacks
        started = time.perf_counter()
        threads = [threading.Thread(target=work, args=(session,)) for session in self.sessions]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
        if errors:
            _logger.warning("%d failed requests to %s, the first: %s", len(errors), path, errors[0])
        return {"seconds": seconds, "latencies": latencies, "errors": len(errors), "logged": logged[0],
                "batches": len(bodies), "server_rss_mb": server.rss.peak_mb if server else 0.0,
                "server_tracebacks": server.log.tracebacks - tracebacks if server else 0}


def count_answer(answer):
    """Events an answer reports logged: ``accepted`` for our API, the ids ``create`` returns for JSON-2."""
    return answer["accepted"] if isinstance(answer, dict) else len(answer)


def count_logged(db):
    with scratchdb.cursor(db) as cr:
        cr.execute("SELECT e.source, CASE WHEN e.filter_reason IS NOT NULL THEN 'filtered' "
                   "WHEN q.id IS NOT NULL THEN 'pending' ELSE 'counted' END AS state, count(*) "
                   "FROM crm_lead_event e LEFT JOIN crm_lead_event_queue q ON q.event_id = e.id "
                   "GROUP BY 1, 2 ORDER BY 1, 2")
        return cr.fetchall()


def free_ports(count):
    """``count`` ports of PORTS nobody listens on."""
    ports = []
    for port in PORTS:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
        if len(ports) == count:
            return ports
    raise SystemExit(f"fewer than {count} free ports in {PORTS.start}-{PORTS.stop - 1}")


class ServerMemory:
    """Samples the resident memory of a process and its children; keeps the highest sum."""

    def __init__(self, pid, interval=0.2):
        self.pid = pid
        self.interval = interval
        self.peak_mb = 0.0
        self.processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join()

    def reset(self):
        self.peak_mb = 0.0

    def _sample(self):
        while not self._stop.wait(self.interval):
            pids = [self.pid, *children(self.pid)]
            self.processes = len(pids)
            self.peak_mb = max(self.peak_mb, sum(map(rss_mb, pids)))


def children(pid):
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def rss_mb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:  # the process is gone: it holds no memory
        return 0.0
    return 0.0


class ServerLog(threading.Thread):
    """Copies the server's output to stderr and counts the tracebacks in it."""

    def __init__(self, stream):
        super().__init__(daemon=True)
        self.stream = stream
        self.tracebacks = 0

    def run(self):
        for line in self.stream:
            sys.stderr.write(line)
            if line.startswith("Traceback"):
                self.tracebacks += 1


class OdooServer:
    """``odoo-bin`` serving ``db`` on 127.0.0.1 (without cron threads unless asked), for the duration of a ``with``."""

    def __init__(self, db, workers, cron_threads=0):
        http_port, gevent_port = free_ports(2)
        self.url = f"http://127.0.0.1:{http_port}"
        self.command = odoo_bin_command(
            db, "--http-interface=127.0.0.1", f"--http-port={http_port}", f"--gevent-port={gevent_port}",
            f"--workers={workers}", f"--max-cron-threads={cron_threads}", f"--db-filter=^{db}$")
        self.process = None
        self.rss = None
        self.log = None

    def __enter__(self):
        _logger.info("starting %s", " ".join(self.command[1:]))
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        env=os.environ, text=True, errors="replace")
        self.log = ServerLog(self.process.stdout)
        self.log.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"odoo-bin exited with {self.process.returncode}")
            try:
                if requests.get(self.url + "/web/health", timeout=5).status_code == 200:
                    break
            except requests.RequestException as error:
                _logger.debug("odoo-bin not up yet: %s", error)
            if time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError(f"odoo-bin did not answer on {self.url} within {STARTUP_TIMEOUT} s")
            time.sleep(0.5)
        self.rss = ServerMemory(self.process.pid)
        self.rss.start()
        _logger.info("odoo-bin %d is up on %s", self.process.pid, self.url)
        return self

    def __exit__(self, *_exc):
        if self.rss:
            self.rss.stop()
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.join()
        _logger.info("odoo-bin stopped")
