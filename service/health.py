"""Liveness, readiness and the sd_notify STATUS line, from evidence of progress.

``/healthz`` answers while the process serves HTTP at all. ``/readyz`` is true while every
topic's stream is subscribed and showing life, and the apply loop is not stuck: an apply loop
is stuck when entries have waited longer than ``stuck_after_s`` and no cycle finished in that
time, unless it is holding back on purpose (backoff, REQUEST_LIMIT_EXCEEDED pause). The
systemd watchdog is fed on exactly the same judgement, so a wedged apply loop gets the
daemon restarted just like a wedged stream.

In shadow mode entries stay pending on purpose (live mode applies them later); only entries
above the shadow watermark are waiting for the loop, so only they can make it stuck.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from service.inbox_backend import ReaderSource, open_reader
from subscriber.errors import Fatal, SubscriberError
from subscriber.events import EntryStatus
from subscriber.inbox_api import InboxReader

log = logging.getLogger("lifecycle_sync.health")


class ApplyProgress(Protocol):
    cycles: int

    def waiting_by_design(self) -> bool: ...


class Health:
    """Thread-safe; fed by the intake hooks, read by the HTTP server and the supervisor."""

    def __init__(self, topics: Iterable[str], inbox_file: ReaderSource, apply: ApplyProgress,
                 intake_alive: Callable[[], bool], stuck_after_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic, *, shadow: bool = False,
                 paused: Callable[[], str] = str) -> None:
        """``paused()``: why intake is paused on purpose (a full disk), else empty."""
        self._topics = set(topics)
        self._subscribed: set[str] = set()
        self._inbox_file = inbox_file
        self._apply = apply
        self._intake_alive = intake_alive
        self._stuck_after_s = stuck_after_s
        self._clock = clock
        self._shadow = shadow
        self._paused = paused
        self._lock = threading.Lock()
        self._last_cycles = -1
        self._cycles_changed_at = clock()

    def subscribed(self, topic: str) -> None:
        with self._lock:
            self._subscribed.add(topic)

    def unsubscribed(self, topic: str) -> None:
        with self._lock:
            self._subscribed.discard(topic)

    def problems(self, stuck: str | None = None) -> list[str]:
        """Why the daemon is not ready; empty when it is. ``stuck``: :meth:`apply_stuck`'s
        answer when the caller already has it this tick (the main loop)."""
        found = []
        with self._lock:
            missing = sorted(self._topics - self._subscribed)
        if missing:
            found.append("not subscribed: " + ", ".join(missing))
        if not self._intake_alive():
            found.append("a stream has shown no life recently")
        paused = self._paused()
        if paused:
            found.append(paused)
        stuck = self.apply_stuck() if stuck is None else stuck
        if stuck:
            found.append(stuck)
        return found

    def apply_stuck(self) -> str:
        """A reason when apply is stuck, else an empty string."""
        now = self._clock()
        with self._lock:
            if self._apply.cycles != self._last_cycles:
                self._last_cycles = self._apply.cycles
                self._cycles_changed_at = now
            idle_for = now - self._cycles_changed_at
        if idle_for < self._stuck_after_s or self._apply.waiting_by_design():
            return ""
        oldest = self.oldest_pending_s()
        if oldest is not None and oldest > self._stuck_after_s:
            return (f"apply stuck: oldest pending entry {oldest:.0f} s old, no cycle finished "
                    f"in {idle_for:.0f} s")
        return ""

    def oldest_pending_s(self) -> float | None:
        """Age of the oldest entry the apply loop still owes a cycle (shadow: above the
        watermark), or None. The first pending entry by ID, one indexed row (entries land in
        ID order), not a count of the whole inbox: the main loop asks every tick."""
        try:
            with open_reader(self._inbox_file) as inbox:
                return _oldest_pending_s(inbox, self._shadow)
        except SubscriberError:
            return None


def _oldest_pending_s(inbox: InboxReader, shadow: bool) -> float | None:
    after_id = 0
    if shadow:
        from service.shadow import WATERMARK_KEY  # shadow mode's gateway: not at start-up

        after_id = int(inbox.meta(WATERMARK_KEY) or 0)
    waiting = inbox.entries(EntryStatus.PENDING, limit=1, after_id=after_id)
    if not waiting:
        return None
    return max(0.0, time.time() - waiting[0].received_at.timestamp())


def status_line(totals: dict[str, list[int]], inbox_file: ReaderSource, ready: list[str]
                ) -> str:
    """One line for ``systemctl status``: landed, applied, parked, pending, readiness."""
    landed = sum(t[0] for t in totals.values())
    try:
        with open_reader(inbox_file) as inbox:
            counts = inbox.counts_by_topic().values()
    except SubscriberError:
        counts = []  # type: ignore[assignment]
    applied = sum(c.applied - c.parked for c in counts)
    parked = sum(c.parked for c in counts)
    pending = sum(c.pending for c in counts)
    poison = sum(c.poison for c in counts)
    state = "ready" if not ready else "NOT READY (" + "; ".join(ready) + ")"
    return (f"{state}; landed {landed} this run; inbox: {pending} pending, {applied} applied, "
            f"{parked} parked, {poison} failed")


class Readiness(Protocol):
    def problems(self) -> list[str]: ...


def serve_health(port: int, registry: CollectorRegistry, health: Readiness
                 ) -> HealthServer | None:
    """The started server on ``port``, None when ``port`` is 0 (off). A port already taken is
    :class:`Fatal` (an operator's mistake, exit 78), raised where the daemon's start-up
    guard stops the intake it already started (service.wiring)."""
    if not port:
        return None
    try:
        return HealthServer(port, registry, health).start()
    except OSError as exc:
        raise Fatal(f"cannot serve metrics and health on 127.0.0.1:{port}: "
                    f"{exc.strerror or exc}: another process holds the port; choose another "
                    "[metrics] port, or 0 to serve nothing") from None


class HealthServer:
    """``/metrics``, ``/healthz`` and ``/readyz`` on 127.0.0.1:``port`` (0: any free port)."""

    def __init__(self, port: int, registry: CollectorRegistry, health: Readiness) -> None:
        self._registry = registry
        self._health = health
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics",
                                        daemon=True)

    def start(self) -> HealthServer:
        self._thread.start()
        log.info("metrics and health on http://127.0.0.1:%d (/metrics /healthz /readyz)",
                 self.port)
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        registry, health = self._registry, self._health

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._send(200, generate_latest(registry), CONTENT_TYPE_LATEST)
                elif path == "/healthz":
                    self._send(200, b"ok\n")
                elif path == "/readyz":
                    problems = health.problems()
                    body = ("ready\n" if not problems else "\n".join(problems) + "\n").encode()
                    self._send(503 if problems else 200, body)
                else:
                    self._send(404, b"not found: try /metrics, /healthz or /readyz\n")

            def _send(self, code: int, body: bytes, kind: str = "text/plain") -> None:
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return  # scrapes every few seconds would flood the journal

        return Handler
