"""Keeps personal data and secrets out of everything sent to Sentry.

``send_default_pii=False`` alone still leaks (research: reliability-anchors §4): local
variables, exception messages and breadcrumbs carry whatever the code held, and
simple-salesforce exceptions quote the request URL (SOQL with emails, URL-encoded as ``%40``)
and the response body. So every string of an event or breadcrumb passes through
:func:`scrub_text` (the log scrubber's patterns, plus URL-encoded emails, SOQL string
literals and query strings of URLs). ``release`` and ``environment`` are left alone: a naive
email pattern rewrites ``lifecycle-sync@1.2.3``.

Grouping: one cause is one Sentry issue. Events that set no fingerprint get one from what
they are (exception class and error code, or a log message's template), never from the
values inside them.
"""

from __future__ import annotations

from typing import Any

from service.logging_setup import scrub_text

__all__ = ["FILTERED", "fingerprint", "scrub_event", "scrub_text", "scrub_value"]

_KEEP_TOP = frozenset({"release", "environment", "event_id", "timestamp", "start_timestamp",
                       "platform", "sdk", "modules", "type", "level", "check_in_id",
                       "monitor_slug", "status", "monitor_config"})
FILTERED = "[Filtered]"


def scrub_value(value: Any, secrets: tuple[str, ...]) -> Any:
    """A copy of ``value`` with every string inside it scrubbed (dict keys too)."""
    if isinstance(value, str):
        return scrub_text(value, secrets)
    if isinstance(value, dict):
        return {scrub_text(str(k), secrets): scrub_value(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_value(v, secrets) for v in value]
    return value


def scrub_event(event: dict[str, Any], secrets: tuple[str, ...]) -> dict[str, Any]:
    """Every field but the ones that identify the release and the event, scrubbed; tags that
    still looked like personal data after scrubbing dropped; a fingerprint set."""
    clean = {k: (v if k in _KEEP_TOP else scrub_value(v, secrets)) for k, v in event.items()}
    tags = clean.get("tags")
    if isinstance(tags, dict):
        clean["tags"] = {k: v for k, v in tags.items() if FILTERED not in str(v)
                         and "[email]" not in str(v) and "[redacted]" not in str(v)}
    for frame_holder in _frames(clean):
        frame_holder.pop("vars", None)
    if not clean.get("fingerprint"):
        clean["fingerprint"] = fingerprint(clean)
    return clean


def fingerprint(event: dict[str, Any]) -> list[str]:
    """What makes two events the same cause: exception class (+ error code tag), or a log
    message's logger and template (never its arguments)."""
    code = str((event.get("tags") or {}).get("error_code", ""))
    values = (event.get("exception") or {}).get("values") or []
    if values:
        last = values[-1]
        return ["lifecycle-sync", "exception", str(last.get("type", "")),
                str(last.get("module", "")), code]
    entry = event.get("logentry") or {}
    template = entry.get("message") or event.get("message") or ""
    return ["lifecycle-sync", "log", str(event.get("logger", "")), str(template), code]


def _frames(event: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for holder in ("exception", "threads"):
        for value in (event.get(holder) or {}).get("values") or []:
            found.extend((value.get("stacktrace") or {}).get("frames") or [])
    return found
