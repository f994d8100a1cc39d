"""Segment tracking calls (``track``, ``page``, ``identify``) read as behaviour events.

Pure Python, no Odoo import. A ``track`` or ``page`` call becomes an event in the shape
the event API takes (checked then by :func:`behaviour.validate_event`): its type comes
from the administrator's mappings (an event name or a page path matched by a glob
pattern), its lead from ``traits.email`` / ``properties.email`` or ``userId``, its
external ID is the ``messageId``. An ``identify`` call names the lead an anonymous
visitor (``anonymousId``) turned out to be.

Reasons name the fields as Segment does (``'timestamp'``, ``'messageId'``...).
"""

import fnmatch
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from .behaviour import MAX_EMAIL, MAX_EXTERNAL_ID, MAX_URL, parse_time, text_problem

TRACK, PAGE, IDENTIFY = "track", "page", "identify"
CALL_TYPES = (TRACK, PAGE, IDENTIFY)
MAPPED_CALLS = (TRACK, PAGE)  # the calls whose event type a mapping gives
MAX_NAME_ECHO = 64  # characters of an unmapped name or path repeated in its rejection
# the event API's field names in a reason, as a Segment call names them
SEGMENT_NAMES = {
    "'occurred_at'": "'timestamp'", "'external_id'": "'messageId'", "'value'": "'properties.value'",
    "'url'": "'properties.url'", "'user_agent'": "'context.userAgent'", "'email'": "'traits.email'",
    "'lead_ref'": "'userId'",
}
SEGMENT_NAME = re.compile("|".join(map(re.escape, SEGMENT_NAMES)))


@dataclass(frozen=True)
class Mapping:
    """An administrator's mapping: the calls of ``call`` whose event name (track) or path
    (page) matches the glob ``pattern`` (case-insensitive) are events of type ``code``."""

    call: str
    pattern: str
    code: str


@dataclass(frozen=True)
class Call:
    """A Segment call read: an event in the event API's shape, or an identification.

    ``item`` is the event (``type``, ``occurred_at``, ``external_id``, at most one of
    ``email`` / ``lead_ref``, ``value``, ``url``, ``user_agent``) of a track or page call;
    ``lead`` the ``email`` or ``lead_ref`` an identify call names (one key).
    """

    kind: str
    anonymous_id: str | None
    item: dict | None = None
    lead: dict | None = None


def compile_mappings(mappings):
    """The mappings ``mappings`` (in the order they are tried) as ``{call: [(regex, code)]}``."""
    compiled = {call: [] for call in MAPPED_CALLS}
    for mapping in mappings:
        compiled[mapping.call].append(
            (re.compile(fnmatch.translate(mapping.pattern.strip()), re.IGNORECASE), mapping.code))
    return compiled


def mapped_type(compiled, call, text):
    """The event type code of the first mapping of ``call`` whose pattern matches ``text``; or None."""
    return next((code for regex, code in compiled.get(call, ()) if regex.match(text)), None)


def segment_reason(reason):
    """A reason of :func:`behaviour.validate_event`, its field names as a Segment call has them."""
    return SEGMENT_NAME.sub(lambda match: SEGMENT_NAMES[match.group()], reason) if reason else reason


def _object(call, *path):
    """The object at ``path`` in ``call`` ({} when absent).

    :raise ValueError: it is present and not an object
    """
    value = call
    for depth, key in enumerate(path):
        value = value.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError(f"'{'.'.join(path[:depth + 1])}' must be an object")
    return value


def _identifier(call, key):
    """The text of the identifier ``key`` (an integer is read as its digits); None when absent.

    :raise ValueError: not a string of at most :data:`MAX_EXTERNAL_ID` characters
    """
    value = call.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if problem := text_problem(key, value, MAX_EXTERNAL_ID):
        raise ValueError(problem)
    return value.strip()


def occurred_at(call, now, sent_at=None):
    """When the call happened, naive UTC: its ``timestamp``; else its ``originalTimestamp``, moved
    by the sender's clock error (``sentAt``, of the call or of its batch ``sent_at``, against
    ``now``) as Segment does; else ``now``.

    :raise ValueError: a timestamp that is not ISO 8601
    """
    for key in ("timestamp", "originalTimestamp", "sentAt"):
        if call.get(key) is not None:
            try:
                parse_time(call[key])
            except ValueError:
                raise ValueError(f"'{key}' must be an ISO 8601 date and time, e.g. 2026-11-24T09:30:00Z") from None
    if call.get("timestamp") is not None:
        return parse_time(call["timestamp"])
    if call.get("originalTimestamp") is None:
        return now
    original = parse_time(call["originalTimestamp"])
    sent = call.get("sentAt") or sent_at
    try:
        return now - (parse_time(sent) - original) if sent else original
    except (ValueError, OverflowError):
        raise ValueError("'sentAt' must be an ISO 8601 date and time, e.g. 2026-11-24T09:30:00Z") from None


def _lead(call, user_id):
    """The lead a call names, ``{'email': ...}`` or ``{'lead_ref': ...}``, or {}.

    ``traits.email`` (of the call or of its context), else ``properties.email``,
    else ``userId``: an email, or the lead's external reference.
    """
    for path in (("traits",), ("context", "traits"), ("properties",)):
        email = _object(call, *path).get("email")
        if email not in (None, ""):
            name = f"{'.'.join(path)}.email"
            if problem := text_problem(name, email, MAX_EMAIL):
                raise ValueError(problem)
            if "@" not in email:
                raise ValueError(f"'{name}' is not an email address")
            return {"email": email}
    if user_id:
        return {"email": user_id} if "@" in user_id else {"lead_ref": user_id}
    return {}


def _page_path(call, url):
    """The path of a page call: ``properties.path``, ``context.page.path``, or that of its URL; or None."""
    for path in (_object(call, "properties").get("path"), _object(call, "context", "page").get("path")):
        if path not in (None, ""):
            if not isinstance(path, str) or len(path) > MAX_URL:
                raise ValueError(f"'properties.path' must be a string of at most {MAX_URL} characters")
            return path
    return (urlsplit(url).path or "/") if url else None


def read_call(call, compiled, now, kind=None, sent_at=None):
    """Read one Segment call.

    :param call: the call as decoded from JSON (any type)
    :param compiled: the mappings, from :func:`compile_mappings`
    :param now: naive UTC, the time the call is received
    :param kind: the call type the endpoint implies (``/track``...); None for a batch item
    :param sent_at: the batch's ``sentAt``, when the call has none
    :return: ``(Call, None)`` or ``(None, reason)`` with a reason a person understands
    """
    try:
        return _read_call(call, compiled, now, kind, sent_at), None
    except ValueError as error:
        return None, str(error)


def _read_call(call, compiled, now, kind, sent_at):
    if not isinstance(call, dict):
        raise ValueError("a call must be a JSON object")
    call_type = call.get("type", kind)
    if kind and call_type != kind:
        raise ValueError(f"'type' must be {kind!r} on this endpoint")
    if call_type not in CALL_TYPES:
        shown = call_type[:MAX_NAME_ECHO] if isinstance(call_type, str) else call_type
        raise ValueError(f"'type' must be one of track, page and identify, not {shown!r}")
    for path in (("properties",), ("traits",), ("context",), ("context", "page"), ("context", "traits")):
        _object(call, *path)
    message_id = _identifier(call, "messageId")
    if not message_id:
        raise ValueError("'messageId' is required: it identifies the call, so that a call sent twice counts once")
    anonymous_id = _identifier(call, "anonymousId")
    user_id = _identifier(call, "userId")
    lead = _lead(call, user_id)
    if not lead and not anonymous_id:
        raise ValueError("a call needs a 'userId', an 'anonymousId' or a 'traits.email'")
    when = occurred_at(call, now, sent_at)
    if call_type == IDENTIFY:
        if not lead:
            raise ValueError("an identify call needs a 'traits.email' or a 'userId': the lead the visitor is")
        return Call(IDENTIFY, anonymous_id, lead=lead)
    properties = _object(call, "properties")
    url = properties.get("url") or _object(call, "context", "page").get("url")
    if call_type == TRACK:
        name = call.get("event")
        if not isinstance(name, str) or not name.strip():
            raise ValueError("'event' is required on a track call: the name of the event")
        code = mapped_type(compiled, TRACK, name.strip())
        if not code:
            raise ValueError(f"no event type is mapped to the track event {name.strip()[:MAX_NAME_ECHO]!r}: "
                             "add a Segment mapping")
    else:
        path = _page_path(call, url if isinstance(url, str) else None)
        if not path:
            raise ValueError("a page call needs 'properties.path', 'context.page.path' or a URL")
        code = mapped_type(compiled, PAGE, path)
        if not code:
            raise ValueError(f"no event type is mapped to the page path {path[:MAX_NAME_ECHO]!r}: "
                             "add a Segment mapping")
    item = {
        "type": code, "occurred_at": when.isoformat(), "external_id": message_id, **lead,
        "value": properties.get("value") if call_type == TRACK else None, "url": url,
        "user_agent": _object(call, "context").get("userAgent"),
    }
    return Call(call_type, anonymous_id, item=item)
