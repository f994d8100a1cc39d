from datetime import datetime, timedelta

import pytest
from engine import behaviour, segment
from engine.segment import Mapping

NOW = datetime(2026, 11, 24, 12, 0, 0)
COMPILED = segment.compile_mappings([
    Mapping("track", "Demo Requested", "demo_request"),
    Mapping("track", "whitepaper *", "download"),
    Mapping("page", "/pricing*", "pricing_page"),
    Mapping("page", "*", "visit"),
])


def track(**values):
    return {"type": "track", "event": "Demo Requested", "messageId": "m-1", "userId": "CRM-7",
            "timestamp": "2026-11-24T09:30:00Z"} | values


def read(call, **kwargs):
    return segment.read_call(call, COMPILED, NOW, **kwargs)


def test_mappings_are_tried_in_order_case_insensitively():
    assert segment.mapped_type(COMPILED, "track", "WhitePaper Downloaded") == "download"
    assert segment.mapped_type(COMPILED, "page", "/pricing/enterprise") == "pricing_page"
    assert segment.mapped_type(COMPILED, "page", "/blog") == "visit"
    assert segment.mapped_type(COMPILED, "track", "Signed Up") is None


def test_track_call_is_an_event_of_its_mapped_type():
    call, reason = read(track(properties={"value": 3, "url": "https://x.example/demo"},
                              context={"userAgent": "Mozilla/5.0"}))
    assert reason is None
    assert (call.kind, call.anonymous_id) == ("track", None)
    assert call.item == {"type": "demo_request", "occurred_at": "2026-11-24T09:30:00", "external_id": "m-1",
                         "lead_ref": "CRM-7", "value": 3, "url": "https://x.example/demo", "user_agent": "Mozilla/5.0"}


def test_lead_from_traits_properties_or_user_id():
    assert read(track(traits={"email": "a@x.example"}))[0].item["email"] == "a@x.example"
    assert read(track(context={"traits": {"email": "b@x.example"}}))[0].item["email"] == "b@x.example"
    assert read(track(properties={"email": "c@x.example"}))[0].item["email"] == "c@x.example"
    assert read(track(userId="d@x.example"))[0].item["email"] == "d@x.example"
    anonymous, reason = read(track(userId=None, anonymousId="anon-1"))
    assert reason is None and anonymous.anonymous_id == "anon-1"
    assert not {"email", "lead_ref", "lead_id"} & set(anonymous.item)


def test_page_path_from_properties_context_or_url():
    page = {"type": "page", "messageId": "p-1", "anonymousId": "anon-1"}
    assert read(page | {"properties": {"path": "/pricing"}})[0].item["type"] == "pricing_page"
    assert read(page | {"context": {"page": {"path": "/pricing/eu"}}})[0].item["type"] == "pricing_page"
    call = read(page | {"properties": {"url": "https://x.example/pricing?plan=pro"}})[0]
    assert (call.item["type"], call.item["url"]) == ("pricing_page", "https://x.example/pricing?plan=pro")
    assert read(page | {"properties": {"url": "https://x.example"}})[0].item["type"] == "visit"
    assert "needs 'properties.path'" in read(page)[1]


def test_timestamps_as_segment_reads_them():
    assert read(track())[0].item["occurred_at"] == "2026-11-24T09:30:00"
    skewed = track(timestamp=None, originalTimestamp="2026-11-24T13:00:00Z", sentAt="2026-11-24T13:00:10Z")
    # the sender's clock is 1 h 10 s ahead: the call happened 10 s before it was received
    assert read(skewed)[0].item["occurred_at"] == (NOW - timedelta(seconds=10)).isoformat()
    batch_sent = track(timestamp=None, originalTimestamp="2026-11-24T13:00:00Z")
    assert read(batch_sent, sent_at="2026-11-24T13:00:30Z")[0].item["occurred_at"] == \
        (NOW - timedelta(seconds=30)).isoformat()
    assert read(track(timestamp=None))[0].item["occurred_at"] == NOW.isoformat()


def test_identify_names_the_lead_of_an_anonymous_id():
    call, reason = read({"type": "identify", "messageId": "i-1", "anonymousId": "anon-1",
                         "traits": {"email": "a@x.example"}})
    assert reason is None
    assert (call.kind, call.anonymous_id, call.lead) == ("identify", "anon-1", {"email": "a@x.example"})


@pytest.mark.parametrize(("call", "expected"), [
    ([], "must be a JSON object"),
    (track(type="screen"), "'type' must be one of track, page and identify"),
    (track(messageId=None), "'messageId' is required"),
    (track(messageId=["m"]), "'messageId' must be a string"),
    (track(messageId="m" * 200), "'messageId' is longer than 128"),
    (track(userId=None), "needs a 'userId', an 'anonymousId' or a 'traits.email'"),
    (track(userId=12.5), "'userId' must be a string"),
    (track(properties=[1]), "'properties' must be an object"),
    (track(context={"page": "home"}), "'context.page' must be an object"),
    (track(traits={"email": 42}), "'traits.email' must be a string"),
    (track(traits={"email": "nobody"}), "'traits.email' is not an email address"),
    (track(timestamp="yesterday"), "'timestamp' must be an ISO 8601"),
    (track(event=None), "'event' is required on a track call"),
    (track(event="Signed Up"), "no event type is mapped to the track event 'Signed Up'"),
    ({"type": "page", "messageId": "p", "userId": "u", "properties": {"path": "/x"}},
     "no event type is mapped to the page path '/x'"),
    ({"type": "identify", "messageId": "i", "anonymousId": "anon"}, "an identify call needs a 'traits.email'"),
])
def test_every_rejection_has_its_reason(call, expected):
    empty = segment.compile_mappings([Mapping("track", "Demo Requested", "demo_request")])
    result, reason = segment.read_call(call, empty, NOW)
    assert result is None
    assert expected in reason


def test_endpoint_type_is_checked():
    assert read({k: v for k, v in track().items() if k != "type"}, kind="track")[1] is None
    assert "'type' must be 'page' on this endpoint" in read(track(), kind="page")[1]


def test_event_checks_name_segment_fields():
    rules = behaviour.EventRules(type_codes=frozenset({"demo_request"}), dwell_types=frozenset(), min_dwell=5.0,
                                 now=NOW, bot=behaviour.bot_matcher())
    call = read(track(properties={"value": "lots"}))[0]
    _event, reason = behaviour.validate_event(call.item, rules)
    assert segment.segment_reason(reason) == "'properties.value' must be a number"
    anonymous = read(track(userId=None, anonymousId="a", context={"userAgent": "Googlebot/2.1"}))[0]
    event, reason = behaviour.validate_event(anonymous.item, rules, lead_required=False)
    assert reason is None and event["filter"] == behaviour.BOT
    assert behaviour.validate_event(anonymous.item, rules)[1] == \
        "exactly one of 'lead_id', 'email' and 'lead_ref' is required"
