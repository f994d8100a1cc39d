from datetime import datetime, timedelta

import numpy as np
import pytest
from engine import behaviour, scoring
from engine.behaviour import BOT, BURST, CAP, DWELL, OK
from engine.events import EngagementSums, GroupedUnits, TimedEvents
from engine.stages import EngagementRows

NOW = datetime(2026, 11, 24, 12, 0, 0)
DAY = behaviour.SECONDS_PER_DAY
RULES = behaviour.EventRules(
    type_codes=frozenset({"visit", "download", "email_open"}), dwell_types=frozenset({"visit"}),
    min_dwell=5.0, now=NOW, bot=behaviour.bot_matcher())


def event(**values):
    return {"type": "download", "occurred_at": "2026-11-24T09:30:00Z", "lead_id": 7, "external_id": "e1"} | values


# ------------------------------------------------------------ validation

def test_valid_event_is_normalised():
    result, reason = behaviour.validate_event(event(occurred_at="2026-11-24T10:30:00+01:00", value=3), RULES)
    assert reason is None
    assert result["occurred_at"] == datetime(2026, 11, 24, 9, 30)
    assert result["lead_id"] == 7 and result["value"] == 3.0 and result["filter"] == OK


def test_email_is_normalised_and_integer_external_id_accepted():
    result, reason = behaviour.validate_event(
        event(lead_id=None, email=" Anna@Example.COM ", external_id=42), RULES)
    assert reason is None
    assert result["email"] == "anna@example.com" and result["external_id"] == "42"


@pytest.mark.parametrize("item, message", [
    ("not an object", "JSON object"),
    (event(type=None), "'type' is required"),
    (event(type="teleport"), "unknown event type 'teleport'"),
    ({k: v for k, v in event().items() if k != "occurred_at"}, "'occurred_at' is required"),
    (event(occurred_at="yesterday"), "ISO 8601"),
    (event(occurred_at=1732440000), "ISO 8601"),
    (event(occurred_at="2027-01-01T00:00:00Z"), "in the future"),
    (event(occurred_at="1999-12-31T00:00:00Z"), "before 2000"),
    (event(external_id=""), "'external_id' is required"),
    (event(external_id="x" * 200), "longer than 128"),
    (event(email="a@b.c"), "exactly one of"),
    (event(lead_id=None), "exactly one of"),
    (event(lead_id="7"), "positive integer"),
    (event(lead_id=True), "positive integer"),
    (event(lead_id=None, email="nobody"), "not an email"),
    (event(lead_id=None, lead_ref=12), "must be a string"),
    (event(value="3"), "'value' must be a number"),
    (event(value=float("nan")), "'value' must be a number"),
    (event(value=-1), "must not be negative"),
    (event(url=["x"]), "'url' must be a string"),
    (event(url="https://x\x00y"), "without NUL"),
    (event(external_id="a\x00b"), "must not contain NUL"),
    (event(lead_id=None, lead_ref="R\x00"), "must not contain NUL"),
    (event(value=3e9), "at most 1000000"),
    (event(occurred_at="9999-12-31T23:59:59-12:00"), "ISO 8601"),
    (event(user_agent="x" * 2000), "'user_agent' must be a string"),
])
def test_rejections_name_the_problem(item, message):
    result, reason = behaviour.validate_event(item, RULES)
    assert result is None
    assert message in reason


@pytest.mark.parametrize("item, message", [
    # a stray character before the offset, which Python's own parser lets pass
    (event(occurred_at="2026-11-24T09:30:00\x00Z"), "ISO 8601"),
    (event(occurred_at="2026-11-24T09:30:00X+00:00"), "ISO 8601"),
    (event(occurred_at="2026-11-24T09:30:00+00:00 later"), "ISO 8601"),
    (event(occurred_at="2026-11-24T09:30:00\ud800Z"), "ISO 8601"),
    (event(occurred_at="\u0662\u0660\u0662\u0666-11-24T09:30:00Z"), "ISO 8601"),  # not ASCII digits
    # half of a surrogate pair: no text PostgreSQL stores
    (event(external_id="e\ud800"), "'external_id' must be valid Unicode"),
    (event(url="https://example.com/\udfff"), "'url' must be valid Unicode"),
    (event(lead_id=None, lead_ref="REF-\ud800"), "'lead_ref' must be valid Unicode"),
    (event(lead_id=None, email="a\ud800@example.com"), "'email' must be valid Unicode"),
    # an address parsed recursively by Python's email module
    (event(lead_id=None, email="(" * 500 + "a@example.com"), "'email' is longer than 254"),
    # numbers no column holds, or no number at all
    (event(lead_id=2**31), "positive integer"),
    (event(lead_id=10**400), "positive integer"),
    (event(value=10**400), "at most 1000000"),
    (event(value=float("inf")), "'value' must be a number"),
    (event(value=float("-inf")), "'value' must be a number"),
    (event(value={"seconds": 3}), "'value' must be a number"),
    (event(type="x" * 10000), "unknown event type '" + "x" * 64 + "'"),
    (behaviour.TOO_DEEP, "more than 32 levels deep"),
])
def test_hostile_values_are_rejected(item, message):
    result, reason = behaviour.validate_event(item, RULES)
    assert result is None
    assert message in reason


@pytest.mark.parametrize("text, expected", [
    ("2026-11-24", datetime(2026, 11, 24)),
    ("2026-11-24 09:30", datetime(2026, 11, 24, 9, 30)),
    ("2026-11-24T09:30:00,5+01", datetime(2026, 11, 24, 8, 30, 0, 500000)),
    ("2026-11-24T09:30:00.1234567z", datetime(2026, 11, 24, 9, 30, 0, 123456)),
    (" 2026-11-24T09:30:00-0130 ", datetime(2026, 11, 24, 11, 0)),
])
def test_iso_8601_variants_are_parsed(text, expected):
    assert behaviour.parse_time(text) == expected


def test_unicode_text_is_accepted():
    result, reason = behaviour.validate_event(
        event(external_id="événement-😀", url="https://exemple.fr/écrits/😀"), RULES)
    assert reason is None
    assert (result["external_id"], result["url"]) == ("événement-😀", "https://exemple.fr/écrits/😀")


# ------------------------------------------------------------ decoding a batch

def test_a_batch_decodes_as_json():
    body = '{"events": [{"external_id": 12345678901234567890}, 1.5, "x", null], "other": true}'
    assert behaviour.loads_events(body.encode()) == {
        "events": [{"external_id": 12345678901234567890}, 1.5, "x", None], "other": True}
    assert behaviour.loads_events(body.encode("utf-16")) == behaviour.loads_events(body.encode())


@pytest.mark.parametrize("body", [b"", b"not json", b'{"events": [', b"\xff\xfe\xfd", b"[" * 5000])
def test_a_body_that_is_not_json_is_refused(body):
    with pytest.raises(ValueError):
        behaviour.loads_events(body)


def test_an_event_nested_too_deeply_is_cut_out_alone():
    deep = "[" * 5000 + "]" * 5000
    nested = '{"type": "visit", "value": ' + "[" * 40 + '"\\"[{"' + "]" * 40 + "}"
    # an event is at depth 3: 29 more levels reach the limit, 30 pass it
    at_limit, past_limit = ('{"x": ' + "[" * n + "]" * n + "}" for n in (29, 30))
    body = ('{"before": ' + deep + ', "events": [{"external_id": "a]["}, ' + deep + ", " + nested + ", "
            + at_limit + ", " + past_limit + ', "ok"]}')
    payload = behaviour.loads_events(body.encode())
    assert payload["events"][0] == {"external_id": "a]["}
    assert payload["events"][1] is behaviour.TOO_DEEP
    assert payload["events"][2] is behaviour.TOO_DEEP
    assert isinstance(payload["events"][3]["x"], list)
    assert payload["events"][4] is behaviour.TOO_DEEP
    assert payload["events"][5] == "ok"
    assert isinstance(payload["before"][0], str)  # what is not an event is cut too, and ignored
    assert behaviour.validate_event(payload["events"][1], RULES)[1].startswith("an event must not nest")


def test_an_integer_too_long_for_python_is_read_as_a_float():
    payload = behaviour.loads_events(('{"events": [{"lead_id": ' + "9" * 5000 + '}]}').encode())
    assert payload["events"][0]["lead_id"] == float("inf")
    assert "positive integer" in behaviour.validate_event(event(lead_id=payload["events"][0]["lead_id"]), RULES)[1]


def test_clock_skew_of_minutes_is_tolerated():
    future = (NOW + timedelta(hours=2)).isoformat()
    assert behaviour.validate_event(event(occurred_at=future), RULES)[1] is None


@pytest.mark.parametrize("agent, reason", [
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", BOT),
    ("python-requests/2.31", BOT),
    ("Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/120.0", BOT),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36", OK),
])
def test_bot_user_agents_are_flagged(agent, reason):
    assert behaviour.validate_event(event(user_agent=agent), RULES)[0]["filter"] == reason


def test_extra_bot_patterns_and_bad_pattern():
    rules = behaviour.EventRules(**{**RULES.__dict__, "bot": behaviour.bot_matcher("AcmeScanner\n")})
    assert behaviour.validate_event(event(user_agent="acmescanner 1.0"), rules)[0]["filter"] == BOT
    with pytest.raises(ValueError, match="invalid bot user agent pattern"):
        behaviour.bot_matcher("(unclosed")


def test_short_visits_are_flagged_but_unknown_dwell_is_not():
    assert behaviour.validate_event(event(type="visit", value=2), RULES)[0]["filter"] == DWELL
    assert behaviour.validate_event(event(type="visit", value=30), RULES)[0]["filter"] == OK
    assert behaviour.validate_event(event(type="visit"), RULES)[0]["filter"] == OK
    assert behaviour.validate_event(event(type="download", value=1), RULES)[0]["filter"] == OK


# ------------------------------------------------------------ bursts and caps

NONE_PRIOR = TimedEvents(lead_id=[], type_id=[], ts=[])


def caps(daily_caps, **burst):
    """Caps and bursts for the types 0, 1..., ``daily_caps`` each."""
    return behaviour.EventFilter(type_ids=np.arange(len(daily_caps)), daily_caps=np.array(daily_caps), **burst)

def test_daily_cap_counts_prior_events_of_the_day():
    t0 = 100 * DAY + 3600
    reasons = behaviour.flag_events(
        TimedEvents(lead_id=[1, 1, 1, 2], type_id=[0, 0, 0, 0], ts=[t0 + 10, t0 + 20, t0 + 30, t0 + 40]),
        TimedEvents(lead_id=[1], type_id=[0], ts=[t0]), caps([3]))
    assert reasons.tolist() == [OK, OK, CAP, OK]


def test_cap_is_per_day_and_per_type_and_zero_means_none():
    t0 = 100 * DAY
    reasons = behaviour.flag_events(
        TimedEvents(lead_id=[1, 1, 1, 1, 1], type_id=[0, 0, 0, 1, 1],
                    ts=[t0 + 10, t0 + 20, t0 + DAY + 5, t0 + 30, t0 + 40]),
        NONE_PRIOR, caps([1, 0]))
    assert reasons.tolist() == [OK, CAP, OK, OK, OK]


def test_cap_keeps_the_earliest_whatever_the_input_order():
    t0 = 100 * DAY
    reasons = behaviour.flag_events(TimedEvents(lead_id=[1, 1, 1], type_id=[0, 0, 0], ts=[t0 + 30, t0 + 10, t0 + 20]),
                                    NONE_PRIOR, caps([2]))
    assert reasons.tolist() == [CAP, OK, OK]


def test_burst_flags_events_completing_a_dense_window():
    t0 = 100 * DAY
    ts = [t0, t0 + 1, t0 + 2, t0 + 3, t0 + 60]
    reasons = behaviour.flag_events(TimedEvents(lead_id=[1] * 5, type_id=[0] * 5, ts=ts), NONE_PRIOR,
                                    caps([0], burst_count=3, burst_seconds=10))
    assert reasons.tolist() == [OK, OK, BURST, BURST, OK]
    # another lead's events never make a burst together
    reasons = behaviour.flag_events(TimedEvents(lead_id=[1, 2, 3], type_id=[0] * 3, ts=[t0, t0, t0]), NONE_PRIOR,
                                    caps([0], burst_count=2, burst_seconds=10))
    assert reasons.tolist() == [OK, OK, OK]


def test_burst_counts_events_already_counted_and_does_not_use_the_cap():
    t0 = 100 * DAY
    reasons = behaviour.flag_events(
        TimedEvents(lead_id=[1, 1], type_id=[0, 0], ts=[t0 + 2, t0 + 500]),
        TimedEvents(lead_id=[1], type_id=[0], ts=[t0]), caps([2], burst_count=2, burst_seconds=5))
    assert reasons.tolist() == [BURST, OK]


def test_flag_events_is_vectorised():
    rng = np.random.default_rng(3)
    n = 200_000
    reasons = behaviour.flag_events(
        TimedEvents(lead_id=rng.integers(1, 20_000, n), type_id=rng.integers(0, 5, n), ts=rng.uniform(0, 30 * DAY, n)),
        NONE_PRIOR, caps([3, 0, 5, 0, 1], burst_count=10, burst_seconds=30))
    assert reasons.shape == (n,)
    assert set(np.unique(reasons).tolist()) <= {OK, BURST, CAP}


# ------------------------------------------------------------ points and decay

def sums(units, refs):
    """Stored sums of the leads 1, 2... for one type."""
    return EngagementSums(lead_id=np.arange(1, len(units) + 1), type_id=[1] * len(units), units=units, ref=refs)


def test_units_per_event_and_per_minute():
    units = behaviour.event_units([False, False, True, True], [np.nan, 90, 90, np.nan])
    assert units.tolist() == [1, 1, 1.5, 0]


def test_a_buying_signal_feeds_the_buying_signals_counter_whatever_its_own():
    counters = np.array(["download_count", "meeting_count", "", "buying_signal_count"], dtype=object)
    signal = [False, True, True, False]
    assert behaviour.counter_events("meeting_count", counters, signal).tolist() == [False, True, False, False]
    assert behaviour.counter_events(behaviour.BUYING_SIGNAL_COUNTER, counters, signal).tolist() == [
        False, True, True, True]
    assert behaviour.counter_events("visit_count", counters[:0], []).tolist() == []


def test_decay_halves_each_half_life_and_zero_means_none():
    factor = behaviour.decay_factor([0, 7 * DAY, 14 * DAY, 14 * DAY, -DAY], [7, 7, 7, 0, 7])
    assert np.allclose(factor, [1, 0.5, 0.25, 1, 1])


def test_accumulate_is_order_independent_and_matches_rescanning():
    rng = np.random.default_rng(5)
    ts = rng.uniform(0, 90 * DAY, 50)
    points = rng.uniform(1, 10, 50)
    group = rng.integers(0, 3, 50)
    half_lives = np.array([7.0, 30.0, 0.0])
    now = 100 * DAY
    # all at once
    at_once = behaviour.accumulate(sums([0.0] * 3, [0.0] * 3), GroupedUnits(group, points, ts), half_lives)
    at_once = behaviour.decayed_points(at_once.units, at_once.ref, half_lives, now)
    # in two batches, the second one older (late events)
    late = ts < 45 * DAY
    first = behaviour.accumulate(sums([0.0] * 3, [0.0] * 3), GroupedUnits(group, points, ts).take(~late), half_lives)
    second = behaviour.accumulate(first, GroupedUnits(group, points, ts).take(late), half_lives)
    in_two = behaviour.decayed_points(second.units, second.ref, half_lives, now)
    rescanned = np.zeros(3)
    np.add.at(rescanned, group, points * behaviour.decay_factor(now - ts, half_lives[group]))
    assert np.allclose(at_once, rescanned)
    assert np.allclose(in_two, rescanned)


def test_accumulate_leaves_groups_without_events_unchanged():
    result = behaviour.accumulate(sums([0.0, 8.0], [0.0, 3 * DAY]), GroupedUnits([0], [4.0], [10 * DAY]), [7.0, 7.0])
    assert result.units.tolist() == [4.0, 8.0]
    assert result.ref.tolist() == [10 * DAY, 3 * DAY]
    assert result.lead_id.tolist() == [1, 2]


def test_engagement_points_and_score():
    rows = EngagementRows(lead_index=[0, 0, 2], type_index=[0, 1, 1], points=[10.0, 20.0, 50.0], ref=[0.0, 0.0, 0.0],
                          half_life=[0.0, 7.0, 7.0])
    points = rows.lead_totals(7 * DAY, 3)
    assert points.tolist() == [20.0, 0.0, 25.0]
    assert behaviour.engagement_score(np.array([-5.0, 20.0, 250.0]), 50).tolist() == [0.0, 40.0, 100.0]
    with pytest.raises(ValueError):
        behaviour.engagement_score(points, 0)


def test_score_blends_fit_and_engagement():
    params = scoring.ScoringParams(np.array([80]), (([0, 50], [1, 2]),), weights={"fit": 60, "engagement": 40})
    result = scoring.score_leads(params, np.array([[True], [False]]), [0, 0], engagement=np.array([0.0, 100.0]))
    assert result.fit_score.tolist() == [80, 0]
    assert result.engagement_score.tolist() == [0, 100]
    assert result.score.tolist() == [48, 40]
    assert result.tier_id.tolist() == [1, 1]
