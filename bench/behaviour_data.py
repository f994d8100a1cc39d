"""Behaviour data for the ``ingest``, ``events`` and ``decay`` scenarios: numpy draws, ``COPY``, no ORM.

Events are drawn over the open leads (active, ``won_status = 'pending'``) of a
scratch database: the event types weighted as a B2B website and mailing list
produce them (visits and email opens common, buying signals rare), times over
the last days, visit and time-on-site durations log-normal, a per-lead activity
that is log-normal too (a few leads are very active, most are not).

Every scenario starts from an empty behaviour state (:func:`reset_behaviour`):
no event logged, no engagement, no counter on the leads.
"""

import ast
import io
import logging
from dataclasses import dataclass

import numpy as np

from bench.odoo_env import REPO_ROOT
from bench.scratchdb import OPEN_LEADS, cursor

_logger = logging.getLogger(__name__)

# relative frequency of each event type the addon ships, by code (unknown codes: OTHER_WEIGHT)
EVENT_WEIGHTS = {
    "visit": 30.0, "time_on_site": 8.0, "key_page": 12.0, "download": 3.0, "webinar_registration": 1.0,
    "webinar_attendance": 0.5, "email_open": 25.0, "email_click": 8.0, "email_reply": 1.5, "form": 1.5,
    "call": 1.5, "meeting": 0.5, "quote_request": 0.2, "demo_request": 0.2, "pricing_page": 1.0,
}
OTHER_WEIGHT = 0.5
WEB_PATHS = {
    "visit": "/", "time_on_site": "/", "key_page": "/solutions/warehouse-automation", "download": "/resources/",
    "pricing_page": "/pricing", "form": "/contact", "demo_request": "/demo", "quote_request": "/quote",
}
SPAN_DAYS = 60  # events of the ``events`` scenario happen over the last SPAN_DAYS days
COPY_CHUNK = 200_000


def _counter_fields():
    """The lead's behaviour counters, in declaration order: the fields of the addon's
    ``models/events/crm_lead.py`` declared with ``counter=``, read from the file's syntax
    tree because the addon's package imports Odoo and the benches do not."""
    tree = ast.parse((REPO_ROOT / "lead_intelligence" / "models" / "events" / "crm_lead.py").read_text())
    return tuple(
        target.id
        for node in ast.walk(tree) if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
        for target in node.targets if isinstance(target, ast.Name)
        if any(keyword.arg == "counter" for keyword in node.value.keywords))


COUNTER_COLUMNS = _counter_fields()


@dataclass(frozen=True)
class EventTypes:
    """The active event types of the database, with the weights the generators draw them with."""

    ids: np.ndarray
    codes: list
    counters: list  # counter field or None
    weights: np.ndarray  # probabilities, summing to 1

    def draw(self, rng, n):
        return rng.choice(len(self.ids), size=n, p=self.weights)


def load_event_types(cr):
    cr.execute("SELECT id, code, counter_field FROM crm_lead_event_type WHERE active ORDER BY id")
    rows = cr.fetchall()
    weights = np.array([EVENT_WEIGHTS.get(code, OTHER_WEIGHT) for _id, code, _counter in rows])
    return EventTypes(ids=np.array([row[0] for row in rows]), codes=[row[1] for row in rows],
                      counters=[row[2] for row in rows], weights=weights / weights.sum())


def open_lead_ids(db):
    with cursor(db) as cr:
        cr.execute(f"SELECT id FROM crm_lead WHERE {OPEN_LEADS.string} ORDER BY id")  # pylint: disable=sql-injection  # module constants only
        return np.array([row[0] for row in cr.fetchall()], dtype=np.int64)


def event_values(rng, codes):
    """Seconds for visits and time on site (log-normal, a visit at least 5 s: none is too short), else NaN."""
    n = len(codes)
    values = np.full(n, np.nan)
    visit = codes == "visit"
    values[visit] = np.maximum(np.round(rng.lognormal(np.log(90), 1.0, int(visit.sum()))), 5)
    site = codes == "time_on_site"
    values[site] = np.round(rng.lognormal(np.log(180), 1.0, int(site.sum())))
    return values


def event_urls(codes, lead_ids):
    paths = np.array([WEB_PATHS.get(code, "") for code in codes.tolist()], dtype=object)
    return np.where(paths == "", None, "https://www.example.com" + paths + "?utm_lead=" + lead_ids.astype(str))


def reset_behaviour(db):
    """Empty the event log and the engagement, clear the counters of the leads that have any."""
    counters_set = " OR ".join(f"{column} IS NOT NULL" for column in ("last_engagement_date", *COUNTER_COLUMNS))
    clear = ", ".join(f"{column} = NULL" for column in ("last_engagement_date", *COUNTER_COLUMNS))
    with cursor(db) as cr:
        cr.execute("TRUNCATE crm_lead_event, crm_lead_event_queue, crm_lead_engagement")
        cr.execute(f"UPDATE crm_lead SET {clear} WHERE {counters_set}")  # pylint: disable=sql-injection  # module constants only
        cleared = cr.rowcount
        forget_settled_times(cr)
        # the count job is never run by a server of the bench: forget the triggers earlier runs left
        cr.execute("DELETE FROM ir_cron_trigger WHERE cron_id IN (SELECT res_id FROM ir_model_data "
                   "WHERE module = 'lead_intelligence' AND name = 'ir_cron_count_events')")
    _logger.info("behaviour reset: event log and engagement emptied, counters of %d leads cleared", cleared)


def forget_settled_times(cr):
    """The engagement was written behind the event job, which flags the leads it changes: the times
    until which the leads' scores hold (``crm_lead_score.settled_until``) no longer hold, the next
    pass reads every lead."""
    cr.execute("UPDATE crm_lead_score SET settled_until = NULL WHERE settled_until IS NOT NULL")


def copy_rows(cr, table, columns, rows):
    """COPY ``rows`` (tuples of already rendered text, ``\\N`` for NULL) into ``table``."""
    buffer = io.StringIO("".join("\t".join(row) + "\n" for row in rows))
    cr.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)


def text(values, fmt="{}"):
    return ["\\N" if value is None or value != value else fmt.format(value) for value in values]


def generate_events(db, count, touched, seed=7):
    """Log ``count`` pending events (source ``api``) over ``touched`` open leads drawn at random.

    Each touched lead gets one event, the others go to the touched leads in
    proportion to a log-normal activity. Times are uniform over the last
    SPAN_DAYS days. Returns the number of leads touched.
    """
    rng = np.random.default_rng(seed)
    leads = open_lead_ids(db)
    touched = min(touched, len(leads), count)
    chosen = np.sort(rng.choice(leads, size=touched, replace=False))
    activity = rng.lognormal(0.0, 1.2, touched)
    lead_of_event = np.concatenate([chosen, rng.choice(chosen, size=count - touched, p=activity / activity.sum())])
    rng.shuffle(lead_of_event)
    with cursor(db) as cr:
        types = load_event_types(cr)
        cr.execute("SELECT extract(epoch FROM now())::float8")
        now = cr.fetchone()[0]
        # the company an event is logged for: its lead's, or the main company for a lead shared by all
        cr.execute("SELECT id, COALESCE(company_id, (SELECT min(id) FROM res_company)) FROM crm_lead "
                   "WHERE id = ANY(%s)", (chosen.tolist(),))
        company_of_lead = dict(cr.fetchall())
        for start in range(0, count, COPY_CHUNK):
            stop = min(start + COPY_CHUNK, count)
            n = stop - start
            type_index = types.draw(rng, n)
            codes = np.array(types.codes, dtype=object)[type_index]
            lead_ids = lead_of_event[start:stop]
            occurred = np.datetime_as_string(
                (np.floor(now - rng.uniform(0, SPAN_DAYS * 86400.0, n))).astype("datetime64[s]"), unit="s")
            rows = zip(
                lead_ids.astype(str).tolist(), types.ids[type_index].astype(str).tolist(), occurred.tolist(),
                ["api"] * n, [f"bench-{i}" for i in range(start, stop)],
                text(event_values(rng, codes).tolist(), "{:.0f}"), text(event_urls(codes, lead_ids).tolist()),
                [str(company_of_lead[lead_id]) for lead_id in lead_ids.tolist()],
                strict=True)
            copy_rows(cr, "crm_lead_event",
                      ("lead_id", "type_id", "occurred_at", "source", "external_id", "value", "url", "company_id"),
                      rows)
            _logger.info("logged %d / %d pending events", stop, count)
        # queued for counting, as the addon's API does in the same statement
        cr.execute("INSERT INTO crm_lead_event_queue (event_id, lead_id, type_id, occurred_at, value) "
                   "SELECT id, lead_id, type_id, occurred_at, value FROM crm_lead_event WHERE source = 'api'")
    return touched


def fill_engagement(db, share=1.0, seed=11):
    """Give ``share`` of the open leads 2 to 4 engagement rows (event types drawn by weight, no repeat).

    Units are log-normal (a few decayed events each), reference dates uniform
    over the last 30 days: the leads' engagement scores spread over 0-100.
    Returns (leads engaged, rows).
    """
    rng = np.random.default_rng(seed)
    leads = open_lead_ids(db)
    engaged = np.sort(rng.choice(leads, size=round(len(leads) * share), replace=False))
    with cursor(db) as cr:
        types = load_event_types(cr)
        cr.execute("SELECT extract(epoch FROM now())::float8")
        now = cr.fetchone()[0]
        # weighted draw without replacement per lead: the k largest u ** (1 / weight)
        keys = rng.random((len(engaged), len(types.ids))) ** (1.0 / types.weights)
        order = np.argsort(-keys, axis=1)
        per_lead = rng.integers(2, 5, len(engaged))
        take = np.arange(len(types.ids))[None, :] < per_lead[:, None]
        lead_ids = np.broadcast_to(engaged[:, None], order.shape)[take]
        type_ids = types.ids[order[take]]
        n = len(lead_ids)
        units = np.round(rng.lognormal(np.log(3.0), 0.9, n), 4)
        refs = np.datetime_as_string(np.floor(now - rng.uniform(0, 30 * 86400.0, n)).astype("datetime64[s]"),
                                     unit="s")
        copy_rows(cr, "crm_lead_engagement", ("lead_id", "type_id", "units", "ref_date"),
                  zip(lead_ids.astype(str).tolist(), type_ids.astype(str).tolist(), units.astype(str).tolist(),
                      refs.tolist(), strict=True))
        forget_settled_times(cr)
    _logger.info("engagement: %d rows for %d open leads", n, len(engaged))
    return len(engaged), n
