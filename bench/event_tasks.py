"""The measured steps of the behaviour scenarios, as run by ``bench.worker`` in a process of their own.

* :func:`count_events`: ``crm.lead.event._cron_count_events()`` with the time it
  spends in each phase (see :class:`PhaseClock`).
* :func:`full_pass`: ``crm.lead._cron_rescore_all_leads()`` with the time it
  spends reading, decaying the engagement and writing (see :class:`PassClock`).
* :func:`counter_floor`: the SQL floor of the counters: one plain
  ``UPDATE crm_lead … FROM unnest(…)`` per chunk of the touched leads.
* :func:`orm_counter_writes`: the same counters written through the ORM, one
  ``write`` per lead as an Odoo developer would write it, on a sample.
* :func:`create_api_key`: the integration user of the ``ingest`` scenario and
  an API key for it.
"""

import re
import threading
import time

from bench.behaviour_data import COUNTER_COLUMNS
from bench.scratchdb import cursor

CHUNK_SIZE = 20_000  # leads per transaction, as the addon's default chunk
# the increments the event log holds per touched lead, computed by the ``events`` scenario before counting
INCREMENTS_TABLE = "bench_event_increments"
API_LOGIN = "bench.events.api@example.com"

# statements of the count job outside the rescore, by their first words
STATEMENTS = [
    ("candidates", re.compile(r"\s*SELECT lead_id, count\(\*\) FROM crm_lead_event_queue")),
    ("claim", re.compile(r"\s*SELECT id FROM crm_lead WHERE id = ANY\(.*FOR NO KEY UPDATE", re.DOTALL)),
    ("claim", re.compile(r"\s*SELECT event_id, lead_id, type_id, extract\(epoch FROM occurred_at\)")),
    ("claim", re.compile(r"\s*DELETE FROM crm_lead_event_queue")),
    ("claim", re.compile(r"\s*UPDATE crm_lead_event SET filter_reason")),
    ("prior", re.compile(r"\s*SELECT e\.lead_id, e\.type_id, extract")),
    ("counters", re.compile(r"\s*UPDATE crm_lead SET last_engagement_date")),
]


class PhaseClock:
    """Where ``_cron_count_events`` spends its time, measured by wrapping its methods.

    * ``candidates``: the query picking the next chunk's leads among the pending events;
    * ``claim``: locking the chunk's leads, reading their queued events, taking them off the
      queue and recording the reason of the flagged ones;
    * ``prior``: reading the counted events of the chunk's leads on the same days (caps, bursts);
    * ``flag``: the rest of ``_count_chunk`` outside the other phases: reading the event types
      and settings, the caps and bursts (numpy) and flagging the events over them;
    * ``fold_engagement``: ``_fold_counted`` but its counters UPDATE: reading and upserting the
      decayed engagement;
    * ``counters``: the one UPDATE of the touched leads' counters per chunk;
    * ``rescore``: ``crm.lead._score_leads`` on the touched leads (read, score, write, history);
    * ``commit``: ``ir.cron._commit_progress`` (a commit outside a cron);
    * ``other``: the remainder (the initial count, reading the scoring configuration).
    """

    def __init__(self, env):
        self.env = env
        self.seconds = dict.fromkeys(("candidates", "claim", "prior", "flag", "fold_engagement", "counters",
                                      "rescore", "commit"), 0.0)
        self.chunk_seconds = 0.0
        self.fold_seconds = 0.0
        self.in_rescore = False
        self.chunks = 0

    def install(self):
        self._wrap(self.env["crm.lead.event"], "_count_chunk", self._on_chunk)
        self._wrap(self.env["crm.lead.event"], "_fold_counted", self._on_fold)
        self._wrap(self.env["crm.lead"], "_score_leads", self._on_rescore)
        self._wrap(self.env["ir.cron"], "_commit_progress", self._on_commit)
        thread = threading.current_thread()
        thread.query_hooks = [*getattr(thread, "query_hooks", ()), self._on_query]

    @staticmethod
    def _wrap(model, name, record):
        """Replace ``model``'s method ``name`` on its registry class by a timed call of the original."""
        cls = type(model)
        original = getattr(cls, name)

        def timed(self, *args, **kwargs):
            started = time.perf_counter()
            try:
                return original(self, *args, **kwargs)
            finally:
                record(time.perf_counter() - started)
        setattr(cls, name, timed)

    def _on_chunk(self, seconds):
        self.chunk_seconds += seconds
        self.chunks += 1

    def _on_fold(self, seconds):
        self.fold_seconds += seconds

    def _on_rescore(self, seconds):
        self.seconds["rescore"] += seconds

    def _on_commit(self, seconds):
        self.seconds["commit"] += seconds

    def _on_query(self, _cr, query, _params, _start, delay):
        text = query.decode() if isinstance(query, bytes) else str(query)
        for phase, pattern in STATEMENTS:
            if pattern.match(text):
                self.seconds[phase] += delay
                return

    def report(self, total):
        """Seconds per phase, rounded, the remainder as ``other``."""
        phases = dict(self.seconds)
        phases["fold_engagement"] = self.fold_seconds - phases["counters"]
        phases["flag"] = (self.chunk_seconds - phases["claim"] - phases["prior"] - self.fold_seconds
                          - phases["rescore"])
        phases["other"] = total - sum(phases.values())
        return {phase: round(seconds, 3) for phase, seconds in phases.items()}


def count_events(env):
    """Time the count job on every pending event; return the measure with its phases."""
    clock = PhaseClock(env)
    measure = timed_with_clock(env, clock, lambda: env["crm.lead.event"]._cron_count_events())
    measure["chunks"] = clock.chunks
    return measure


def timed_with_clock(env, clock, call):
    """Time ``call`` with ``clock`` installed, commit, add the clock's phases to the measure."""
    from bench.worker import timed  # here: the worker imports this module

    clock.install()
    measure = timed(call)
    env.cr.commit()
    measure["phases"] = clock.report(measure["seconds"])
    return measure


class PassClock:
    """Where the nightly full pass spends its time, measured by wrapping its methods.

    * ``classify``: ``_classify_query``, both of its calls (before the scores, and after them
      the dimensions whose rules read a score);
    * ``read``: ``_read_scoring_rows``: the chunk's leads, their stored scores, the rules matched;
    * ``engagement``: ``_read_engagement_state``: the chunk's engagement rows, decayed to now, and
      how far they can decay;
    * ``write``: ``_write_scores`` but the next two: the upsert of the scores that changed
      (fit, engagement or score) and the UPDATE of the leads whose tier moved;
    * ``history``: ``_log_score_history``: a row per lead whose fit, score or tier changed;
    * ``tier_moves``: ``_log_tier_moves``: the chatter messages of the tier moves;
    * ``trend``: ``_score_trends``: the score trends of the chunk's leads (written with the scores);
    * ``hooks``: ``_on_tier_moves``: routing's queue, the hot lead alerts;
    * ``segmentation``: the refreshes of RFM and ABC, top topics and accounts, and the segments of
      the chunks' leads (``_refresh_rfm``, ``_refresh_top_topics``, ``_refresh_account_scores``,
      ``_assign_clusters``);
    * ``commit``: ``ir.cron._commit_progress`` (a commit outside a cron);
    * ``other``: the remainder: the rules' scoring in numpy, the pass's bookkeeping.
    """

    def __init__(self, env):
        self.env = env
        self.seconds = dict.fromkeys(
            ("classify", "read", "engagement", "write", "history", "tier_moves", "trend", "hooks", "segmentation",
             "commit"), 0.0)

    def install(self):
        lead = self.env["crm.lead"]
        for name, phase in (("_classify_query", "classify"), ("_read_scoring_rows", "read"),
                            ("_read_engagement_state", "engagement"), ("_score_trends", "trend"),
                            ("_on_tier_moves", "hooks"),
                            ("_write_scores", "write"), ("_log_score_history", "history"),
                            ("_log_tier_moves", "tier_moves"), ("_refresh_rfm", "segmentation"),
                            ("_refresh_top_topics", "segmentation"), ("_refresh_account_scores", "segmentation"),
                            ("_assign_clusters", "segmentation")):
            PhaseClock._wrap(lead, name, lambda seconds, phase=phase: self._add(phase, seconds))
        PhaseClock._wrap(self.env["ir.cron"], "_commit_progress", lambda seconds: self._add("commit", seconds))

    def _add(self, phase, seconds):
        self.seconds[phase] += seconds

    def report(self, total):
        phases = dict(self.seconds)
        phases["write"] -= phases["history"] + phases["tier_moves"]
        phases["other"] = total - sum(phases.values())
        return {phase: round(seconds, 3) for phase, seconds in phases.items()}


def full_pass(env):
    """Time the nightly full pass; return the measure with its phases."""
    return timed_with_clock(env, PassClock(env), lambda: env["crm.lead"]._cron_rescore_all_leads())


def read_increments(cr, after=0, limit=None, sample_every=1):
    """Rows ``(lead_id, increments of COUNTER_COLUMNS…, latest epoch)`` of the increments table, in id order."""
    cr.execute(
        f"SELECT lead_id, {', '.join(COUNTER_COLUMNS)}, latest FROM {INCREMENTS_TABLE} "
        "WHERE lead_id > %s AND lead_id %% %s = 0 ORDER BY lead_id LIMIT %s",
        [after, sample_every, limit])
    return cr.fetchall()


def counter_floor(db):
    """Add the increments to the counters of the touched leads by plain SQL, a chunk per transaction.

    The same columns as the count job's UPDATE (every counter and the last
    engagement date), one ``UPDATE … FROM unnest(…)`` per chunk: the cost of
    rewriting the touched rows of ``crm_lead`` alone. Returns the rows written.
    """
    sets = ", ".join(f"{column} = COALESCE(crm_lead.{column}, 0) + v.{column}" for column in COUNTER_COLUMNS)
    arrays = ", ".join("%s::int[]" for _column in COUNTER_COLUMNS)
    update = (f"UPDATE crm_lead SET last_engagement_date = GREATEST(crm_lead.last_engagement_date, "
              f"to_timestamp(v.latest) AT TIME ZONE 'UTC'), {sets} "
              f"FROM unnest(%s::int[], %s::float8[], {arrays}) AS v(id, latest, {', '.join(COUNTER_COLUMNS)}) "
              "WHERE crm_lead.id = v.id")
    written, after = 0, 0
    with cursor(db) as cr:
        while rows := read_increments(cr, after, CHUNK_SIZE):
            columns = list(zip(*rows, strict=True))
            cr.execute(update, [list(columns[0]), list(columns[-1]), *map(list, columns[1:-1])])
            cr.connection.commit()
            written += len(rows)
            after = rows[-1][0]
    return written


def orm_counter_writes(env, sample):
    """Time adding the increments of ``sample`` touched leads through ``crm.lead.write``, one lead at a time.

    The naive code an Odoo developer writes: browse the leads, and for each
    one ``write`` its counters plus what it read; then flush and commit.
    """
    from bench.worker import timed  # here: the worker imports this module

    env.cr.execute(f"SELECT count(*) FROM {INCREMENTS_TABLE}")
    touched = env.cr.fetchone()[0]
    rows = read_increments(env.cr, sample_every=max(touched // sample, 1), limit=sample)
    increments = {row[0]: dict(zip(COUNTER_COLUMNS, row[1:-1], strict=True)) for row in rows}

    def write_all():
        for lead in env["crm.lead"].browse(list(increments)):
            lead.write({column: (lead[column] or 0) + added
                        for column, added in increments[lead.id].items() if added})
        env.flush_all()
        env.cr.commit()

    measure = timed(write_all)
    measure["rows"] = len(increments)
    return measure


def create_api_key(env):
    """An internal user in the Event API group (the one created by an earlier run, if any) and a new API key."""
    users = env["res.users"].with_context(active_test=False)
    user = users.search([("login", "=", API_LOGIN)])
    groups = [env.ref("base.group_user").id, env.ref("lead_intelligence.group_lead_intelligence_api").id]
    if not user:
        user = users.create({"name": "Bench Event API", "login": API_LOGIN, "group_ids": [(6, 0, groups)]})
    env["res.users.apikeys"].search([("user_id", "=", user.id)]).sudo()._remove()
    key = env["res.users.apikeys"].with_user(user).sudo()._generate(None, "bench ingest", None)
    env.cr.commit()
    return {"key": key, "uid": user.id}
