"""Fault injection for the Pub/Sub server, switchable while it runs.

Tests and benchmarks use these to reproduce what production clients meet: a stream aborted
mid-flight with a given status and error code, a cut TCP connection, a server that goes silent
(no events, no keepalives), a slice of events delivered again, slow responses, and every
session expiring at once. The same object is driven by the admin HTTP API and in-process.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace

import grpc

from emulator.pubsub.deliveries import DeliveryLog


@dataclass(frozen=True)
class AbortPlan:
    """Abort a stream after ``after_events`` more events have been delivered (one-shot).

    With ``topic`` set only a stream on that topic fires it (a daemon subscribes to several
    topics at once); empty means whichever stream gets there first. With ``after_events`` 0
    an idle stream fires it at once. With ``new_streams_only`` only a stream opened after the
    plan was armed fires it: a refused replay ID is answered to a new subscription, and a
    stream a stopped client left behind must not take the plan before the server notices.
    """

    after_events: int
    code: grpc.StatusCode
    error_code: str
    message: str = "injected fault"
    topic: str = ""
    new_streams_only: bool = False
    armed_at: float = 0.0  # time.monotonic() when armed


class PubSubFaults:
    """The current fault settings; every accessor is thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._abort: AbortPlan | None = None
        self._delivered_since_armed = 0
        self._redeliver = 0
        self._redeliver_topic = ""
        self.silent = threading.Event()
        self.delay_s = 0.0
        self.abort_streams_on_expiry = threading.Event()
        self.cut_generation = 0
        self.deliveries = DeliveryLog()  # not a fault: what went out, for redelivery counts

    def arm_abort(self, plan: AbortPlan) -> None:
        with self._lock:
            self._abort = replace(plan, armed_at=time.monotonic())
            self._delivered_since_armed = 0

    def take_abort(self, delivering: int, topic: str = "", stream_opened_at: float = 0.0
                   ) -> tuple[int, AbortPlan | None]:
        """How many of ``delivering`` events (on ``topic``) may go out before an abort fires.

        Returns (allowed, plan): when ``plan`` is set the caller sends ``allowed`` events and
        then aborts with it. Firing disarms the plan (one-shot).
        """
        with self._lock:
            plan = self._abort
            if plan is None or not _matches(plan.topic, topic) or (
                    plan.new_streams_only and stream_opened_at < plan.armed_at):
                return delivering, None
            left = plan.after_events - self._delivered_since_armed
            if left > delivering:
                self._delivered_since_armed += delivering
                return delivering, None
            plan, self._abort = self._abort, None
            return max(left, 0), plan

    def arm_redeliver(self, count: int, topic: str = "") -> None:
        """The next stream (on ``topic``, or any) to deliver rewinds ``count`` events."""
        with self._lock:
            self._redeliver = count
            self._redeliver_topic = topic

    def redeliver_armed(self, topic: str = "") -> bool:
        with self._lock:
            return self._redeliver > 0 and _matches(self._redeliver_topic, topic)

    def take_redeliver(self, topic: str = "") -> int:
        with self._lock:
            if not _matches(self._redeliver_topic, topic):
                return 0
            count, self._redeliver = self._redeliver, 0
            return count

    def clear(self) -> None:
        with self._lock:
            self._abort = None
            self._redeliver = 0
            self._redeliver_topic = ""
        self.silent.clear()
        self.delay_s = 0.0
        self.abort_streams_on_expiry.clear()

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {
                "abort": None if self._abort is None else {
                    "after_events": self._abort.after_events,
                    "status": self._abort.code.name,
                    "error_code": self._abort.error_code,
                    "topic": self._abort.topic,
                },
                "redeliver": self._redeliver,
                "silent": self.silent.is_set(),
                "delay_ms": int(self.delay_s * 1000),
            }


def _matches(target: str, topic: str) -> bool:
    return not target or target.lower() == topic.lower()
