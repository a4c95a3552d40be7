"""Injected failures and call counters for the org's APIs (tests and benchmarks).

Two kinds of fault, because Salesforce fails at two levels:

* request faults refuse a whole call before it runs: an HTTP 5xx, a 403
  REQUEST_LIMIT_EXCEEDED, or a stall (the server holds the request, then serves it);
* record faults fail one record's write with a status code such as UNABLE_TO_LOCK_ROW, so a
  single-record call answers 400, sObject Collections report it for that record only, and
  SOAP ``convertLead`` reports it in that lead's result.

A rule matches by call kind (``sobject_upsert``, ``query``, ``soap_convertLead`` …) or DML
operation (``insert``, ``update``, ``delete``), and optionally by object; ``times`` limits how
often it fires (None: until cleared). A record fault may name ``record_ids``: then only writes
to those records fail (a record locked for good, whatever else is written).
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any, Literal

from emulator.org.errors import ApiError, ErrorItem

Effect = Literal["error", "stall", "record_error"]

_SERVER_ERROR = (
    "An unexpected error occurred. Please include this ErrorId if you contact support: "
    "1234567890-12345 (-1234567890)"
)
PRESETS: dict[str, dict[str, Any]] = {
    "server_error": {"effect": "error", "status": 500, "error_code": "UNKNOWN_EXCEPTION",
                     "message": _SERVER_ERROR},
    "unavailable": {"effect": "error", "status": 503, "error_code": "SERVER_UNAVAILABLE",
                    "message": "Server unavailable; please try again later."},
    "request_limit": {"effect": "error", "status": 403, "error_code": "REQUEST_LIMIT_EXCEEDED",
                      "message": "TotalRequests Limit exceeded."},
    "unable_to_lock_row": {"effect": "record_error", "error_code": "UNABLE_TO_LOCK_ROW",
                           "message": "unable to obtain exclusive access to this record"},
    "stall": {"effect": "stall"},
}


@dataclass
class FaultRule:
    """One armed fault. ``kind`` matches call kinds and DML operations alike; "*" is any."""

    effect: Effect
    kind: str = "*"
    object: str | None = None
    status: int = 500
    error_code: str = "UNKNOWN_EXCEPTION"
    message: str = _SERVER_ERROR
    times: int | None = None
    stall_s: float = 30.0
    record_ids: tuple[str, ...] = ()
    id: int = 0
    fired: int = 0

    def matches(self, kind: str, object_name: str | None) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        if self.kind != "*" and self.kind.lower() != kind.lower():
            return False
        return self.object is None or (object_name or "").lower() == self.object.lower()


class OrgFaults:
    """The armed rules; thread-safe, shared by REST and SOAP."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)
        self._released = threading.Event()

    def arm(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            rule.id = next(self._ids)
            self._released.clear()
            self._rules.append(rule)
        return rule

    def arm_preset(self, name: str, **overrides: Any) -> FaultRule:
        """Arm a named preset (see :data:`PRESETS`) with any field overridden."""
        if name not in PRESETS:
            raise KeyError(f"unknown fault {name!r}; known: {', '.join(sorted(PRESETS))}")
        return self.arm(FaultRule(**{**PRESETS[name], **overrides}))

    def clear(self) -> None:
        """Disarm everything and release stalled requests."""
        with self._lock:
            self._rules.clear()
            self._released.set()

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(r) for r in self._rules]

    def before_call(self, kind: str, object_name: str | None) -> None:
        """Apply a matching request fault: stall, then raise :class:`ApiError` for an error."""
        rule = self._take(("error", "stall"), kind, object_name)
        if rule is None:
            return
        if rule.effect == "stall":
            self._released.wait(rule.stall_s)
            return
        raise ApiError(rule.status, rule.error_code, rule.message)

    def record_fault(
        self, operation: str, object_name: str, record_id: str | None = None
    ) -> ErrorItem | None:
        """The error a matching record fault gives this write, if any (consumes one firing).

        UNABLE_TO_LOCK_ROW names the locked record as Salesforce does: "unable to obtain
        exclusive access to this record or 1 records: <id>" (an insert has no ID to name).
        """
        rule = self._take(("record_error",), operation, object_name, record_id)
        if rule is None:
            return None
        message = rule.message
        if rule.error_code == "UNABLE_TO_LOCK_ROW" and record_id and " records: " not in message:
            message = f"{message} or 1 records: {record_id}"
        return ErrorItem(rule.error_code, message, ())

    def _take(
        self, effects: tuple[str, ...], kind: str, object_name: str | None,
        record_id: str | None = None,
    ) -> FaultRule | None:
        with self._lock:
            for rule in self._rules:
                if rule.record_ids and (record_id or "")[:15] not in {
                        r[:15] for r in rule.record_ids}:
                    continue
                if rule.effect in effects and rule.matches(kind, object_name):
                    rule.fired += 1
                    return rule
        return None


class CallCounters:
    """API calls by kind (``query``, ``sobject_create``, ``collections_upsert``, …)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def count(self, kind: str) -> None:
        with self._lock:
            self._counts[kind] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            by_kind = dict(sorted(self._counts.items()))
            return {"total": sum(by_kind.values()), "by_kind": by_kind}

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
