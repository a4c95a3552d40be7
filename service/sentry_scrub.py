"""Keeps personal data and secrets out of everything sent to Sentry.

``send_default_pii=False`` alone still leaks (research: reliability-anchors §4): local
variables, exception messages and breadcrumbs carry whatever the code held, and
simple-salesforce exceptions quote the request URL (SOQL with emails, URL-encoded as ``%40``)
and the response body. So every string of an event or breadcrumb passes through
:func:`scrub_text` (the log scrubber's patterns, plus URL-encoded emails, SOQL string
literals and query strings of URLs). ``release`` and ``environment`` are left alone: a naive
email pattern rewrites ``lifecycle-sync@1.2.3``.

Grouping: one cause is one Sentry issue. Events that set no fingerprint get one from what
they are (exception class and Salesforce error code, or a log message's template and, where
the template puts it in an argument, the cause's class), never from the values inside them;
exceptions without an error code keep Sentry's default stack-based grouping.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from service.logging_setup import scrub_text

__all__ = ["FILTERED", "fingerprint", "scrub_event", "scrub_text", "scrub_value"]

_KEEP_TOP = frozenset({"release", "environment", "event_id", "timestamp", "start_timestamp",
                       "platform", "sdk", "modules", "type", "level", "check_in_id",
                       "monitor_slug", "status", "monitor_config"})
FILTERED = "[Filtered]"
# "stopped: %s: %s" and the like: the first argument is the cause (an exception class name).
_CAUSE_IN_ARG = re.compile(r"^[\w .-]*: %s: %s")
_CODE = re.compile(r"[A-Za-z][\w.:-]{1,80}")  # an error code, not free text with values


def scrub_value(value: Any, secrets: tuple[str, ...]) -> Any:
    """A copy of ``value`` with every string inside it scrubbed (dict keys too)."""
    if isinstance(value, str):
        return scrub_text(value, secrets)
    if isinstance(value, dict):
        return {scrub_text(str(k), secrets): scrub_value(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_value(v, secrets) for v in value]
    return value


def scrub_event(event: dict[str, Any], secrets: tuple[str, ...],
                hint: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every field but the ones that identify the release and the event, scrubbed; ``user``
    dropped whole; tags that
    still looked like personal data after scrubbing dropped; a log record's raw arguments
    dropped (``logentry.formatted``, scrubbed, already holds them); a fingerprint set."""
    # "user" is personal data whatever it holds (id, username, email, IP): never sent. The
    # daemon sets none; this drops what a library or a future change might.
    clean = {k: (v if k in _KEEP_TOP else scrub_value(v, secrets)) for k, v in event.items()
             if k != "user"}
    tags = clean.get("tags")
    if isinstance(tags, dict):
        clean["tags"] = {k: v for k, v in tags.items() if FILTERED not in str(v)
                         and "[email]" not in str(v) and "[redacted]" not in str(v)}
    for frame_holder in _frames(clean):
        frame_holder.pop("vars", None)
    if not clean.get("fingerprint"):
        clean["fingerprint"] = fingerprint(clean, _error_code(hint))
    entry = clean.get("logentry")
    if isinstance(entry, dict):
        entry.pop("params", None)
    return clean


def fingerprint(event: dict[str, Any], error_code: str = "") -> list[str]:
    """What makes two events the same cause. An exception with a Salesforce error code (the
    ``error_code`` tag or the exception's own): its class and code. Any other exception:
    Sentry's default, stack-based grouping (a KeyError here is not a KeyError there). A log
    message: its logger and template, plus the first argument when the template puts the
    cause there (``"stopped: %s: %s"`` with the exception class name), never other values."""
    code = str((event.get("tags") or {}).get("error_code", "") or error_code)
    values = (event.get("exception") or {}).get("values") or []
    if values:
        if not code:
            return ["{{ default }}"]
        last = values[-1]
        return ["lifecycle-sync", "exception", str(last.get("type", "")),
                str(last.get("module", "")), code]
    entry = event.get("logentry") or {}
    template = str(entry.get("message") or event.get("message") or "")
    found = ["lifecycle-sync", "log", str(event.get("logger", "")), template, code]
    params = entry.get("params") or ()
    if _CAUSE_IN_ARG.match(template) and isinstance(params, list | tuple) and params:
        found.append(str(params[0]))
    return found


def _error_code(hint: Mapping[str, Any] | None) -> str:
    """The Salesforce error code an exception carries: ours (``error_code``) or
    simple-salesforce's (``content[0]["errorCode"]``); empty when it has none."""
    exc_info = (hint or {}).get("exc_info")
    exc = exc_info[1] if exc_info else None
    if exc is None:
        return ""
    code = getattr(exc, "error_code", "")
    content = getattr(exc, "content", None)
    if not code and isinstance(content, list) and content and isinstance(content[0], dict):
        code = content[0].get("errorCode", "")
    return code if isinstance(code, str) and _CODE.fullmatch(code) else ""


def _frames(event: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for holder in ("exception", "threads"):
        for value in (event.get(holder) or {}).get("values") or []:
            found.extend((value.get("stacktrace") or {}).get("frames") or [])
    return found
