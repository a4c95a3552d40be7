"""Inbox entries → typed events; anything unusable → :class:`~handlers.events.Invalid`.

Validation is strict where Salesforce would reject a value later (lengths of the target fields,
control characters in IDs, a restricted status), because a value refused inside a batch write
costs a call to park; refusing it here costs nothing. Notes never repeat an email address.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from handlers import payloads
from handlers.emails import InvalidEmail, normalise_email
from handlers.events import (
    EventType,
    GapOverflow,
    Invalid,
    LeadChange,
    LeadGap,
    Lifecycle,
    Parsed,
    Source,
)
from handlers.payloads import BadValue
from handlers.usage import figures
from subscriber.events import EntryKind, InboxEntry

WORKSPACE_ID_MAX_CHARS = 64  # Workspace__c.Workspace_ID__c


def parse_entry(entry: InboxEntry, client_name: str) -> Parsed:
    """The typed event for one pending inbox entry."""
    source = Source(entry.id, entry.event_id or entry.dedupe_key, entry.replay_id.hex())
    payload = entry.payload or {}
    if entry.change is not None:
        return _parse_change(entry, source, payload, client_name)
    return parse_lifecycle(source, payload)


def parse_lifecycle(source: Source, payload: dict[str, Any]) -> Lifecycle | Invalid:
    """A Trial/Conversion/Churn, or the reason it is not one."""
    raw_type = str(payload.get("Event_Type__c") or "")
    raw_ws = str(payload.get("Workspace_ID__c") or "")
    raw_data = payload.get("Event_Data__c")
    data_text = raw_data if isinstance(raw_data, str) else ""
    try:
        at = payloads.event_time(payload)
    except BadValue as exc:
        return Invalid(source, exc.error_class, str(exc), raw_type, raw_ws, data_text)
    try:
        kind = _event_type(raw_type)
        workspace_id = _workspace_id(raw_ws)
        email = _email(payload.get("Email__c"), required=kind is EventType.TRIAL)
        data = _json_object(raw_data)
        details = payloads.details(kind, data)
    except BadValue as exc:
        return Invalid(source, exc.error_class, str(exc), raw_type, raw_ws, data_text, at)
    return Lifecycle(source, kind, workspace_id, email, at, details, figures(data))


def _event_type(raw: str) -> EventType:
    try:
        return EventType(raw.strip())
    except ValueError:
        shown = json.dumps(raw[:40])
        raise BadValue("unknown event type", f"Event_Type__c {shown} is not Trial, "
                       "Conversion or Churn") from None


def _workspace_id(raw: str) -> str:
    value = raw.strip()
    if not value:
        raise BadValue("missing workspace ID", "Workspace_ID__c is missing or blank")
    if len(value) > WORKSPACE_ID_MAX_CHARS:
        raise BadValue("workspace ID too long", f"Workspace_ID__c is {len(value)} characters; "
                       f"Workspace__c.Workspace_ID__c holds {WORKSPACE_ID_MAX_CHARS}")
    if payloads.has_control(value):
        raise BadValue("workspace ID has control characters",
                       "Workspace_ID__c contains a control character (newline, tab, …)")
    return value


def _email(raw: object, *, required: bool) -> str | None:
    text = raw if isinstance(raw, str) else ""
    if not text.strip():
        if required:
            raise BadValue("missing email", "Email__c is missing or blank; a Trial needs the "
                           "owner's email to find or create the Lead")
        return None
    try:
        return normalise_email(text)
    except InvalidEmail as exc:
        raise BadValue("invalid email", f"Email__c: {exc}") from None


def _json_object(raw: object) -> dict[str, Any]:
    if not isinstance(raw, str) or not raw.strip():
        raise BadValue("missing event data", "Event_Data__c is empty; it must be a JSON object")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise BadValue("malformed event data", f"Event_Data__c is not valid JSON: {exc}"
                       ) from None
    if not isinstance(data, dict):
        raise BadValue("malformed event data",
                       f"Event_Data__c is a JSON {type(data).__name__}, not an object")
    return data


def _parse_change(entry: InboxEntry, source: Source, payload: dict[str, Any],
                  client_name: str) -> Parsed:
    change = entry.change
    assert change is not None
    if entry.kind is EntryKind.GAP_OVERFLOW:
        return GapOverflow(source, change.entity_name)
    if entry.kind is EntryKind.GAP:
        return LeadGap(source, change.change_type, change.record_ids)
    own = is_own_origin(change.change_origin, client_name)
    email: str | None = None
    if change.change_type == "CREATE" or "Email" in change.changed_fields:
        try:
            email = _email(payload.get("Email"), required=False)
        except BadValue:
            email = None  # a Lead with an unusable email links nothing
    converted = "IsConverted" in change.changed_fields and payload.get("IsConverted") is True
    return LeadChange(
        source, change.change_type, change.record_ids, own, email,
        _created_at(payload), converted,
        payloads.text_or_none(payload.get("ConvertedAccountId")),
        payloads.text_or_none(payload.get("ConvertedContactId")),
        payloads.text_or_none(payload.get("ConvertedOpportunityId")),
    )


def _created_at(payload: dict[str, Any]) -> dt.datetime | None:
    try:
        return payloads.timestamp(payload.get("CreatedDate"))
    except BadValue:
        return None


def is_own_origin(change_origin: str, client_name: str) -> bool:
    """True when ``changeOrigin`` names our client (``…;client=lifecycle-sync``)."""
    for part in change_origin.split(";"):
        key, _, value = part.strip().partition("=")
        if key == "client" and value.strip().rstrip("/") == client_name:
            return True
    return False
