"""Behaviour events: validation, bot and burst filtering, daily caps and time decay.

Pure Python and numpy, no Odoo import. The Odoo models read events and
engagement state as columns, call these functions on whole chunks and write
the results back in a few set-based statements.

Time is handled as POSIX seconds (float) in UTC. The engagement of a lead is
kept, per event type, as a decayed sum of points ``value`` valid at a
reference time ``ref``: its worth at any later time ``t`` is
``value * 0.5 ** ((t - ref) / half_life)``, so decay never rescans the events.
"""

import json
import math
import re
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import numpy as np

SECONDS_PER_DAY = 86400.0  # events are capped per UTC day, half-lives are in days
SECONDS_PER_MINUTE = 60.0  # the value of a per-minute event is in seconds
# filter reasons (0: counted), and the code each is stored as on the event log
OK, BOT, DWELL, BURST, CAP = 0, 1, 2, 3, 4
REASON_CODES = {BOT: "bot", DWELL: "dwell", BURST: "burst", CAP: "cap"}
# the lead counter that every event of a buying-signal type feeds, whatever its own counter
BUYING_SIGNAL_COUNTER = "buying_signal_count"
# user agents of crawlers, monitors, headless browsers and HTTP libraries
BOT_AGENT_PATTERN = (
    r"bot\b|bot/|crawl|spider|slurp|mediapartners|facebookexternalhit|embedly|preview|"
    r"headless|phantomjs|selenium|puppeteer|playwright|lighthouse|pingdom|uptime|monitor|"
    r"python-requests|python-urllib|aiohttp|httpx|curl/|wget/|go-http-client|java/|okhttp|"
    r"libwww|scrapy|node-fetch|axios/"
)
MAX_EXTERNAL_ID = 128
MAX_EMAIL = 254  # the longest address SMTP carries; parsing far longer ones can exhaust Python's stack
MAX_URL = 2048
MAX_USER_AGENT = 1024
MAX_VALUE = 1_000_000  # seconds (11 days) or units: more is a sender's bug, and would overflow counters
MAX_LEAD_ID = 2**31 - 1  # a PostgreSQL integer
MAX_JSON_DEPTH = 32  # nesting of a body: {"events": [{...}]} is 3 levels; deeper is refused per event
EVENT_DEPTH = 3  # depth of an event in {"events": [...]}
MAX_TYPE_ECHO = 64  # characters of an unknown type code repeated in its rejection
# extended ISO 8601: a date, or a date and time with an optional fraction and UTC offset
ISO_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?)?", re.ASCII)
SURROGATE = re.compile("[\ud800-\udfff]")  # half of a UTF-16 pair: no text PostgreSQL can store
JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)  # a string (skipped) or a bracket
CLOSING = {"[": "]", "{": "}"}


class _TooDeep:
    """Stands for an event nested more than :data:`MAX_JSON_DEPTH` levels deep."""

    __slots__ = ()

    def __repr__(self):
        return "TOO_DEEP"


TOO_DEEP = _TooDeep()


def bot_matcher(extra_patterns=""):
    """Compiled, case-insensitive matcher of bot user agents.

    :param extra_patterns: more patterns, one regular expression per line
    :raise ValueError: an extra pattern is not a valid regular expression
    """
    patterns = [BOT_AGENT_PATTERN] + [line.strip() for line in (extra_patterns or "").splitlines() if line.strip()]
    try:
        return re.compile("|".join(f"(?:{pattern})" for pattern in patterns), re.IGNORECASE)
    except re.error as error:
        raise ValueError(f"invalid bot user agent pattern: {error}") from error


@lru_cache(maxsize=4096)
def _is_bot(matcher, agent):
    """Cached: a batch comes from a few user agents, and the pattern is long."""
    return matcher.search(agent) is not None


# ------------------------------------------------------------
# Validation of incoming events
# ------------------------------------------------------------

@dataclass(frozen=True)
class EventRules:
    """What incoming events are checked against."""

    type_codes: frozenset  # known event type codes
    dwell_types: frozenset  # codes whose value is a dwell time in seconds (visits)
    min_dwell: float  # seconds; a shorter visit is kept but not counted
    now: datetime  # naive UTC
    max_future: timedelta = timedelta(days=1)  # clock skew tolerated
    oldest: datetime = datetime(2000, 1, 1)  # naive UTC, as stored
    bot: re.Pattern = None


def parse_time(value):
    """ISO 8601 text (``Z`` or an offset, or naive meaning UTC) to naive UTC.

    :raise ValueError: not a string in ISO 8601
    """
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date and time string")
    text = value.strip()
    # strict: Python's own parser lets a stray character before the offset pass
    if not ISO_DATETIME.fullmatch(text):
        raise ValueError("must be an ISO 8601 date and time string")
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is not None:
        try:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
        except OverflowError as error:  # e.g. year 9999 at -12:00
            raise ValueError("out of range") from error
    return parsed


def _parse_int(text):
    """JSON integers too long to be an id or a value are read as floats: a body
    with one must not fail to decode as a whole (Python refuses to convert
    integers of thousands of digits), and its event is rejected on its own."""
    return int(text) if len(text) <= MAX_EXTERNAL_ID else float(text)


def loads_events(data):
    """Decode the body of an event batch, ``{"events": [...]}``, from JSON.

    An event nested more than :data:`MAX_JSON_DEPTH` levels deep (counted from
    the body) is replaced by :data:`TOO_DEEP`, so that it is rejected on its
    own: decoding it as such would exhaust Python's stack, and lose the batch.

    :param data: the body, bytes in UTF-8 (or UTF-16 / UTF-32)
    :raise ValueError: the body is not JSON
    """
    text = data.decode(json.detect_encoding(data), "surrogatepass") if isinstance(data, bytes) else data
    try:
        return json.loads(text, parse_int=_parse_int)
    except RecursionError:
        return _loads_cut(text)


def _loads_cut(text):
    """:func:`loads_events` of a body nested too deeply for Python's decoder."""
    marker = secrets.token_hex(16)  # unguessable: no event sent can pass for a cut one
    payload = json.loads(_cut_deep_events(text, f'"{marker}"'), parse_int=_parse_int)
    if isinstance(payload, dict) and isinstance(payload.get("events"), list):
        payload["events"] = [TOO_DEEP if item == marker else item for item in payload["events"]]
    return payload


def _cut_deep_events(text, replacement):
    """``text`` with each value at the depth of an event that holds a value
    nested deeper than :data:`MAX_JSON_DEPTH` replaced by ``replacement``.

    :raise ValueError: brackets that do not match
    """
    depth, opened, cut, parts, start, done = 0, [], False, [], 0, 0
    for token in JSON_TOKEN.finditer(text):
        bracket = token.group()
        if bracket in CLOSING:
            opened.append(CLOSING[bracket])
            depth += 1
            if depth == EVENT_DEPTH:
                start, cut = token.start(), False
            cut = cut or depth > MAX_JSON_DEPTH
        elif bracket in "]}":
            if not opened or opened.pop() != bracket:
                raise ValueError(f"unexpected {bracket!r} at character {token.start()}")
            if depth == EVENT_DEPTH and cut:
                parts += [text[done:start], replacement]
                done = token.end()
            depth -= 1
    if opened:
        raise ValueError("the body ends inside an object or a list")
    return "".join(parts) + text[done:]


def text_problem(key, value, max_length):
    """Why ``value``, the text of field ``key``, cannot be stored; or None."""
    if not isinstance(value, str):
        return f"'{key}' must be a string"
    if len(value) > max_length:
        return f"'{key}' is longer than {max_length} characters"
    if "\x00" in value:
        return f"'{key}' must not contain NUL characters"
    if not value.isascii() and SURROGATE.search(value):
        return f"'{key}' must be valid Unicode text: it holds half of a UTF-16 surrogate pair"
    return None


def validate_event(item, rules, lead_required=True):
    """Check one incoming event and normalise it.

    :param item: the event as decoded from JSON (any type)
    :param lead_required: the event names its lead; otherwise it may name none
        (a Segment call of an anonymous visitor), and at most one
    :return: ``(event, None)`` with ``event`` a dict of ``type``, ``occurred_at``
        (naive UTC), ``lead_id`` / ``email`` / ``lead_ref`` (one of them, or none),
        ``external_id``, ``value``, ``url``, ``filter`` (0 or a reason code);
        or ``(None, reason)`` with a reason a person understands
    """
    if item is TOO_DEEP:
        return None, f"an event must not nest objects or lists more than {MAX_JSON_DEPTH} levels deep"
    if not isinstance(item, dict):
        return None, "an event must be a JSON object"
    code = item.get("type")
    if not isinstance(code, str) or not code:
        return None, "'type' is required: an event type code"
    if code not in rules.type_codes:
        return None, f"unknown event type {code[:MAX_TYPE_ECHO]!r}"
    if "occurred_at" not in item:
        return None, "'occurred_at' is required"
    try:
        occurred_at = parse_time(item["occurred_at"])
    except ValueError:
        return None, "'occurred_at' must be an ISO 8601 date and time, e.g. 2026-11-24T09:30:00Z"
    if occurred_at > rules.now + rules.max_future:
        return None, "'occurred_at' is in the future"
    if occurred_at < rules.oldest:
        return None, f"'occurred_at' is before {rules.oldest.date().isoformat()}"
    external_id = item.get("external_id")
    if isinstance(external_id, int) and not isinstance(external_id, bool):
        external_id = str(external_id)
    if not isinstance(external_id, str) or not external_id.strip():
        return None, "'external_id' is required: a string identifying the event at its source"
    external_id = external_id.strip()
    if problem := text_problem("external_id", external_id, MAX_EXTERNAL_ID):
        return None, problem
    keys = [key for key in ("lead_id", "email", "lead_ref") if item.get(key) not in (None, "")]
    if len(keys) > 1 or (lead_required and not keys):
        return None, "exactly one of 'lead_id', 'email' and 'lead_ref' is required"
    key = keys[0] if keys else None
    target = item.get(key)
    if key == "lead_id" and (
            not isinstance(target, int) or isinstance(target, bool) or not 0 < target <= MAX_LEAD_ID):
        return None, "'lead_id' must be a positive integer"
    if key in ("email", "lead_ref") and (
            problem := text_problem(key, target, MAX_EMAIL if key == "email" else MAX_EXTERNAL_ID)):
        return None, problem
    if key == "email" and "@" not in target:
        return None, "'email' is not an email address"
    value = item.get("value")
    if value is not None:
        # an int is finite however long; math.isfinite would overflow on a huge one
        if not isinstance(value, (int, float)) or isinstance(value, bool) or (
                isinstance(value, float) and not math.isfinite(value)):
            return None, "'value' must be a number"
        if value < 0:
            return None, "'value' must not be negative"
        if value > MAX_VALUE:
            return None, f"'value' must be at most {MAX_VALUE}"
    url = item.get("url")
    if url is not None and (not isinstance(url, str) or len(url) > MAX_URL or "\x00" in url):
        return None, f"'url' must be a string of at most {MAX_URL} characters, without NUL characters"
    if url and (problem := text_problem("url", url, MAX_URL)):
        return None, problem
    agent = item.get("user_agent")
    if agent is not None and (not isinstance(agent, str) or len(agent) > MAX_USER_AGENT):
        return None, f"'user_agent' must be a string of at most {MAX_USER_AGENT} characters"
    reason = OK
    if agent and rules.bot is not None and _is_bot(rules.bot, agent):
        reason = BOT
    elif code in rules.dwell_types and value is not None and value < rules.min_dwell:
        reason = DWELL
    return {
        "type": code,
        "occurred_at": occurred_at,
        **({key: target.strip().lower() if key == "email" else target} if key else {}),
        "external_id": external_id,
        "value": float(value) if value is not None else None,
        "url": url or None,
        "filter": reason,
    }, None


# ------------------------------------------------------------
# Filtering at apply time: bursts and daily caps
# ------------------------------------------------------------

def _dense_rank(values):
    _unique, inverse = np.unique(np.asarray(values, dtype=np.int64), return_inverse=True)
    return inverse.astype(np.int64)


@dataclass(frozen=True)
class EventFilter:
    """What counted events are checked against: the types' daily caps and bursts."""

    type_ids: np.ndarray  # (k,) the event types' ids, increasing
    daily_caps: np.ndarray  # (k,) events of each type counted per lead and UTC day at most, 0 for no cap
    burst_count: int = 0  # this many events of a lead ...
    burst_seconds: float = 0.0  # ... within this many seconds are a burst (0: no bursts)


def flag_events(events, prior, config):
    """Flag the new events of a chunk that exceed a daily cap or come in a burst.

    Counted (``prior``) events of the same leads give the context: the events
    already counted that day, and those just before a burst.

    A *burst* is ``config.burst_count`` or more events of one lead within
    ``config.burst_seconds`` (all types together): each event that completes such
    a window is flagged. The *daily cap* of a type counts, per lead and UTC day,
    the events counted so far; the ones beyond it are flagged. Bursts are
    checked first, so a flagged burst does not use the cap.

    :param events: (n,) the new events: ``lead_id``, ``type_id`` (one of
        ``config.type_ids``), ``ts`` (POSIX seconds), e.g. an
        :class:`engine.events.TimedEvents` or :class:`engine.events.QueuedEvents`
    :param prior: (m,) the same columns: the counted events of these leads on the days concerned
    :param config: an :class:`EventFilter`
    :return: (n,) int array of reason codes: ``OK``, ``BURST`` or ``CAP``
    """
    type_ids = np.asarray(config.type_ids, dtype=np.int64)
    burst_count, burst_seconds = config.burst_count, config.burst_seconds
    lead = np.asarray(events.lead_id, dtype=np.int64)
    type_index = np.searchsorted(type_ids, np.asarray(events.type_id, dtype=np.int64))
    ts = np.asarray(events.ts, dtype=np.float64)
    n = len(lead)
    reasons = np.zeros(n, dtype=np.int64)
    if not n:
        return reasons
    prior_lead = np.asarray(prior.lead_id, dtype=np.int64)
    prior_type = np.searchsorted(type_ids, np.asarray(prior.type_id, dtype=np.int64))
    prior_ts = np.asarray(prior.ts, dtype=np.float64)
    all_lead = np.concatenate([lead, prior_lead])
    all_type = np.concatenate([type_index, prior_type])
    all_ts = np.concatenate([ts, prior_ts])
    is_new = np.concatenate([np.ones(n, dtype=bool), np.zeros(len(prior_lead), dtype=bool)])
    position = np.concatenate([np.arange(n), np.full(len(prior_lead), -1)])
    # one sort key per lead then time: ranks of leads times a span wider than the times
    rank = _dense_rank(all_lead)
    seconds = np.floor(all_ts - all_ts.min()).astype(np.int64)
    span = int(seconds.max()) + int(max(burst_seconds, 0)) + 2
    # prior events first at equal times: they happened before
    order = np.lexsort((position, ~is_new, seconds, rank))
    key = rank[order] * span + seconds[order]
    if burst_count and burst_count > 1 and burst_seconds > 0:
        # events of the same lead in [t - window, t]: index of the first of them
        first = np.searchsorted(key, key - int(burst_seconds), side="left")
        in_window = np.arange(len(key)) - first + 1
        burst = (in_window >= burst_count) & is_new[order]
        reasons[position[order][burst]] = BURST
    daily_caps = np.asarray(config.daily_caps, dtype=np.int64)
    caps = daily_caps[all_type] if len(daily_caps) else np.zeros(len(all_type), dtype=np.int64)
    capped = caps > 0
    if capped.any():
        day = np.floor(all_ts / SECONDS_PER_DAY).astype(np.int64)
        counted = ~is_new | (reasons[np.maximum(position, 0)] == OK) & is_new
        candidate = capped & counted
        idx = np.flatnonzero(candidate)
        if len(idx):
            # group by lead, type and day, prior events first, then by time
            group_order = np.lexsort((position[idx], ~is_new[idx], all_ts[idx], day[idx], all_type[idx], rank[idx]))
            sorted_idx = idx[group_order]
            group_key = np.stack([rank[sorted_idx], all_type[sorted_idx], day[sorted_idx]], axis=1)
            starts = np.ones(len(sorted_idx), dtype=bool)
            starts[1:] = (group_key[1:] != group_key[:-1]).any(axis=1)
            group_start = np.maximum.accumulate(np.where(starts, np.arange(len(sorted_idx)), 0))
            rank_in_group = np.arange(len(sorted_idx)) - group_start  # 0-based, prior events included
            over = (rank_in_group >= caps[sorted_idx]) & is_new[sorted_idx]
            reasons[position[sorted_idx][over]] = CAP
    return reasons


# ------------------------------------------------------------
# Points and decay
# ------------------------------------------------------------

def event_units(per_minute, values):
    """Units each event adds to its lead's engagement with its type: 1 per
    event, or the minutes of its value (seconds) for a per-minute type.

    A unit is worth the type's points; the engagement keeps units, so that new
    points apply to past events.

    :param per_minute: (n,) bool, whether the event's type counts per minute of
        ``value`` (time on site) rather than per event
    :param values: (n,) event values in seconds (NaN when absent: worth no minutes)
    :return: (n,) float
    """
    values = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0)
    return np.where(np.asarray(per_minute, dtype=bool), values / SECONDS_PER_MINUTE, 1.0)


def counter_events(counter, event_counters, buying_signal):
    """Mask of the events that feed the lead counter ``counter``: those of a
    type with that counter and, for :data:`BUYING_SIGNAL_COUNTER`, every event
    of a buying-signal type as well.

    :param counter: the counter's name (a lead field)
    :param event_counters: (n,) the counter of each event's type ('' for none)
    :param buying_signal: (n,) bool, whether each event's type is a buying signal
    :return: (n,) bool
    """
    mask = np.asarray(event_counters, dtype=object) == counter
    if counter == BUYING_SIGNAL_COUNTER:
        mask |= np.asarray(buying_signal, dtype=bool)
    return mask


def decay_factor(age_seconds, half_life_days):
    """``0.5 ** (age / half-life)``; a half-life of 0 or less means no decay,
    and a negative age (a time ahead of the reference) counts as no age."""
    age = np.maximum(np.asarray(age_seconds, dtype=np.float64), 0.0)
    half_life = np.asarray(half_life_days, dtype=np.float64) * SECONDS_PER_DAY
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.exp2(-age / np.where(half_life > 0, half_life, 1.0))
    return np.where(half_life > 0, factor, 1.0)


def accumulate(sums, events, half_lives):
    """Add new events to decayed per-(lead, type) sums.

    Each sum's reference time moves to the latest of its old reference and
    its new events; old units and each event are decayed to it. Events may
    arrive late or out of order: the result does not depend on their order.

    :param sums: (g,) the stored sums, ``units`` and ``ref`` (POSIX seconds;
        ignored where the units are 0: a new sum), an :class:`engine.events.EngagementSums`
    :param events: (n,) the new events, ``group`` (index of their sum), ``units``
        (see :func:`event_units`) and ``ts`` (POSIX seconds), an :class:`engine.events.GroupedUnits`
    :param half_lives: (g,) half-life in days of each sum's event type
    :return: ``sums`` with their new ``units`` and ``ref``
    """
    group = np.asarray(events.group, dtype=np.int64)
    ts = np.asarray(events.ts, dtype=np.float64)
    half_lives = np.asarray(half_lives, dtype=np.float64)
    old_value = np.asarray(sums.units, dtype=np.float64)
    has_old = old_value != 0
    old_ref = np.where(has_old, np.asarray(sums.ref, dtype=np.float64), -np.inf)
    latest = np.full(len(old_value), -np.inf)
    np.maximum.at(latest, group, ts)
    new_ref = np.maximum(old_ref, latest)
    new_ref = np.where(np.isfinite(new_ref), new_ref, 0.0)  # a group with neither: stays empty
    value = np.where(has_old, old_value * decay_factor(new_ref - np.where(has_old, old_ref, 0.0), half_lives), 0.0)
    np.add.at(value, group, np.asarray(events.units, dtype=np.float64) * decay_factor(
        new_ref[group] - ts, half_lives[group]))
    return replace(sums, units=value, ref=new_ref)


def decayed_points(values, refs, half_lives, now):
    """Worth at ``now`` (POSIX seconds) of decayed sums kept at times ``refs``."""
    return np.asarray(values, dtype=np.float64) * decay_factor(
        now - np.asarray(refs, dtype=np.float64), half_lives)


def engagement_score(points, ceiling):
    """0-100 engagement: linear from 0 points to ``ceiling`` points, clipped;
    negative totals (bounces, unsubscribes) give 0."""
    if ceiling <= 0:
        raise ValueError(f"the engagement ceiling must be positive, not {ceiling}")
    return np.clip(np.asarray(points, dtype=np.float64) / ceiling, 0.0, 1.0) * 100.0
