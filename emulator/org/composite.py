"""Composite: up to 25 REST subrequests in one call and one transaction.

Subrequests run in order through the same handlers as plain requests (one API call in all).
A later subrequest may use an earlier result with ``@{referenceId.field}`` (dots and
``[n]`` indexes, e.g. ``@{q.records[0].Id}``), in its URL or anywhere in its body. The answer
is always 200 ``{compositeResponse: [{body, httpHeaders, httpStatusCode, referenceId}]}``.

* ``allOrNone: true`` — the first failure rolls everything back; the failed subrequest keeps
  its error and every other one reports 400 PROCESSING_HALTED.
* ``allOrNone: false`` — each subrequest commits or fails alone; one that references a failed
  subrequest fails with PROCESSING_HALTED.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from emulator.org.api_limits import COMPOSITE_MAX_QUERY_OR_COLLECTIONS, COMPOSITE_MAX_SUBREQUESTS
from emulator.org.calls import Call, Reply, split_url
from emulator.org.errors import ApiError

MAX_SUBREQUESTS = COMPOSITE_MAX_SUBREQUESTS
TOO_MANY = "The request can\u2019t contain more than 25 operations."
TOO_MANY_HEAVY = (f"The request can\u2019t contain more than {COMPOSITE_MAX_QUERY_OR_COLLECTIONS} "
                  "query or sObject Collections operations.")
HALTED = "The transaction was rolled back since another operation in the same transaction failed."
_REFERENCE = re.compile(r"@\{([^}]*)\}")
_REFERENCE_ID = re.compile(r"[A-Za-z0-9_]+")
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_METHODS = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE"})
Entry = dict[str, Any]


class Unresolved(Exception):
    """A ``@{…}`` reference with no value (unknown or failed subrequest, missing field)."""


def composite(call: Call) -> Reply:
    body = call.json()
    requests = body.get("compositeRequest") if isinstance(body, dict) else None
    if not isinstance(requests, list) or not requests:
        raise ApiError(400, "JSON_PARSER_ERROR", "compositeRequest: a non-empty array is required")
    if len(requests) > MAX_SUBREQUESTS:
        return _too_many(TOO_MANY)
    subrequests = [_checked(r) for r in requests]
    _unique_references(subrequests)
    if sum(_is_heavy(sub["url"]) for sub in subrequests) > COMPOSITE_MAX_QUERY_OR_COLLECTIONS:
        return _too_many(TOO_MANY_HEAVY)
    all_or_none = bool(body.get("allOrNone", False))
    if all_or_none:
        call = replace(call, all_or_none=True)
    return Reply(200, {"compositeResponse": _run_all(call, subrequests, all_or_none)})


def _run_all(call: Call, subrequests: list[dict[str, Any]], all_or_none: bool) -> list[Entry]:
    """Run the subrequests in order; with ``allOrNone`` the first failure rolls all back."""
    start = call.tx.savepoint()
    results: dict[str, Any] = {}
    entries: list[Entry] = []
    failed_at: int | None = None
    for index, sub in enumerate(subrequests):
        if all_or_none and failed_at is not None:
            entries.append(_halted(sub["referenceId"], HALTED))
            continue
        entry = _run(call, sub, results)
        entries.append(entry)
        if _failed(entry, all_or_none) and failed_at is None:
            failed_at = index
    if all_or_none and failed_at is not None:
        call.tx.rollback_to(start)
        entries = [e if i == failed_at else _halted(e["referenceId"], HALTED)
                   for i, e in enumerate(entries)]
    return entries


def _failed(entry: Entry, all_or_none: bool) -> bool:
    """A failed subrequest; under ``allOrNone`` a Collections result with a failed record too
    (the Composite's ``allOrNone`` overrides the collection's: REST guide, "allOrNone
    Parameters in Composite and Collections Requests")."""
    if entry["httpStatusCode"] >= 400:
        return True
    body = entry["body"]
    return all_or_none and isinstance(body, list) and any(
        isinstance(r, dict) and r.get("success") is False for r in body)


def _run(call: Call, sub: dict[str, Any], results: dict[str, Any]) -> Entry:
    """One subrequest in a savepoint; its result becomes referenceable when it succeeds."""
    ref = sub["referenceId"]
    try:
        url = _substitute_text(sub["url"], results)
        body = _substitute(sub.get("body"), results)
    except Unresolved as exc:
        return _halted(ref, f"Invalid reference specified. No value for {exc} found in "
                            f"{str(exc).split('.')[0]}. Provided referenceId ('{ref}')")
    try:
        nested = split_url(url)[1] == ["composite"]
    except ApiError as exc:  # unknown or retired version: this subrequest fails, not the Composite
        return _entry(ref, Reply(exc.status, exc.body(), dict(exc.headers)), url)
    if nested:
        return _entry(ref, Reply(400, [{"errorCode": "INVALID_API_INPUT",
                                        "message": "Composite requests cannot be nested"}]), url)
    mark = call.tx.savepoint()
    raw_headers = sub.get("httpHeaders")
    headers = raw_headers if isinstance(raw_headers, dict) else {}
    reply = call.sub(sub["method"], url, body, {str(k): str(v) for k, v in headers.items()})
    if reply.status >= 400:
        call.tx.rollback_to(mark)
    else:
        results[ref] = reply.body
    return _entry(ref, reply, url)


def _checked(sub: Any) -> dict[str, Any]:
    """A subrequest with method, url and referenceId, or the whole request fails (400)."""
    if not isinstance(sub, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "Each compositeRequest item must be an object")
    for name in ("method", "url", "referenceId"):
        if not isinstance(sub.get(name), str) or not sub[name]:
            raise ApiError(400, "JSON_PARSER_ERROR", f"Required field '{name}' is missing")
    if sub["method"].upper() not in _METHODS:
        raise ApiError(400, "JSON_PARSER_ERROR", f"Invalid HTTP method: {sub['method']}")
    if not sub["url"].startswith("/services/data/"):
        raise ApiError(400, "INVALID_API_INPUT", f"Invalid URL: {sub['url']}")
    if not _REFERENCE_ID.fullmatch(sub["referenceId"]):
        # Composite Subrequest Result page: "The referenceIds must not contain anything besides
        # letters, numbers, and underscores"; the refusal's code and text are the emulator's.
        raise ApiError(400, "INVALID_API_INPUT",
                       f"Invalid referenceId: {sub['referenceId']}. A referenceId may hold only "
                       "letters, numbers and underscores")
    return sub


def _unique_references(subrequests: list[dict[str, Any]]) -> None:
    """A referenceId used twice fails the whole request (400); the wording is the emulator's."""
    seen: set[str] = set()
    for sub in subrequests:
        if sub["referenceId"] in seen:
            raise ApiError(400, "INVALID_API_INPUT",
                           f"Duplicate ReferenceId provided in the request: {sub['referenceId']}")
        seen.add(sub["referenceId"])


def _entry(ref: str, reply: Reply, url: str) -> Entry:
    headers = dict(reply.headers)
    if reply.status == 201 and isinstance(reply.body, dict) and reply.body.get("id"):
        headers["Location"] = f"{url.split('?')[0].rstrip('/')}/{reply.body['id']}"
    return {"body": reply.body, "httpHeaders": headers, "httpStatusCode": reply.status,
            "referenceId": ref}


def _halted(ref: str, message: str) -> Entry:
    return {"body": [{"errorCode": "PROCESSING_HALTED", "message": message}],
            "httpHeaders": {}, "httpStatusCode": 400, "referenceId": ref}


def _is_heavy(url: str) -> bool:
    """A query (``query``, ``queryAll``, a locator) or sObject Collections subrequest."""
    try:
        segments = split_url(url)[1]
    except ApiError:
        return False
    head = [s.lower() for s in segments[:2]]
    return bool(head) and (head[0] in ("query", "queryall") or head == ["composite", "sobjects"])


def _too_many(message: str) -> Reply:
    """The whole Composite refused (400) for a documented limit; the body shape is a guess."""
    error = {"errorCode": "LIMIT_EXCEEDED", "message": message}
    entry = {"body": [error], "httpHeaders": {}, "httpStatusCode": 400, "referenceId": None}
    return Reply(400, {"compositeResponse": [entry]})


def _substitute(value: Any, results: dict[str, Any]) -> Any:
    """Replace references in a JSON body: a whole-string reference keeps the value's type."""
    if isinstance(value, str):
        whole = _REFERENCE.fullmatch(value)
        return _lookup(whole.group(1), results) if whole else _substitute_text(value, results)
    if isinstance(value, dict):
        return {k: _substitute(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, results) for v in value]
    return value


def _substitute_text(text: str, results: dict[str, Any]) -> str:
    return _REFERENCE.sub(lambda m: _text(_lookup(m.group(1), results)), text)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _lookup(path: str, results: dict[str, Any]) -> Any:
    steps = [(name, index) for name, index in _STEP.findall(path)]
    if not steps or not steps[0][0] or steps[0][0] not in results:
        raise Unresolved(path)
    value = results[steps[0][0]]
    for name, index in steps[1:]:
        try:
            value = value[int(index)] if index else value[name]
        except (KeyError, IndexError, TypeError) as exc:
            raise Unresolved(path) from exc
    return value
