"""Active/standby on the PostgreSQL inbox: wait as standby, take over, keep the lease, step down.

The sequence (docs/deployment.md "Two nodes"):

1. **standby**: try to take the lease every ``ttl/3``; meanwhile tell systemd we are up
   (``READY=1``, and a watchdog ping every ``tick_s``: at most 5 s and half the watchdog
   interval, whatever the TTL) and show the holder in ``STATUS=``, ``/readyz`` and metrics;
2. **takeover**: the lease is ours at a new epoch. Renewing starts at once; nothing is written
   to Salesforce for ``takeover_wait_s`` (default: the TTL plus the longest Salesforce request
   timeout), so a paused or cut-off former active's request in flight has ended first;
3. **active**: the daemon runs as on SQLite; every inbox write is fenced by the lease and every
   HTTP request to Salesforce (apply and jobs alike) starts only while the lease is trusted
   (:meth:`Lease.require_trusted`, run by the client's session before each request: each
   chunk, retry and session-refresh repeat is checked, and each is bounded by the request
   timeout, which the takeover wait covers). The watchdog pings go on meanwhile: the wait
   (145 s by default) is far longer than the shipped unit's ``WatchdogSec=60``;
4. **step down**: a renewal that fails until the trust window closes (or finds the lease taken)
   stops all writing at once: the process exits 1 (``on_lost``), and systemd restarts it as a
   standby. A clean stop releases the lease so a standby need not wait the TTL out.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # psycopg is the optional "postgres" extra: imported only when used
    from subscriber.pg_lease import Lease

log = logging.getLogger("lifecycle_sync")

ROLE_FILE = "role"  # STATE/role: "PID ROLE", what this node's daemon is doing (for status)
EXIT_LEASE_LOST = 1  # not 78: a restart is exactly the cure (it comes back as a standby)


class Role:
    """This process's role, read by health, metrics and STATUS= (thread-safe)."""

    def __init__(self, lease: Lease | None,
                 on_change: Callable[[str], None] | None = None) -> None:
        self.lease = lease
        self._on_change = on_change  # told each new role name (for ``status``: ROLE_FILE)
        self._lock = threading.Lock()
        self._name = "active" if lease is None else "standby"
        self._detail = ""
        self._in_flight: list[str] = []

    @property
    def name(self) -> str:
        with self._lock:
            return self._name

    @property
    def detail(self) -> str:
        with self._lock:
            return self._detail

    def set(self, name: str, detail: str = "") -> None:
        with self._lock:
            changed = name != self._name
            self._name, self._detail = name, detail
        if changed and self._on_change is not None:
            self._on_change(name)

    def left_running(self, names: list[str]) -> None:
        """At stop: writers that did not finish in time (service.shutdown); while any may
        have a Salesforce request in flight, the lease is not released."""
        with self._lock:
            self._in_flight = list(names)

    @property
    def in_flight(self) -> list[str]:
        with self._lock:
            return list(self._in_flight)

    def problems(self) -> list[str]:
        """Why this process is not ready on account of its role (standby: by design)."""
        name = self.name
        return [] if name == "active" else [f"{name}: {self.detail}".rstrip(": ")]


@dataclass(frozen=True)
class FailoverSettings:
    ttl_s: float
    takeover_wait_s: float
    tick_s: float = 5.0  # watchdog pings while standby or waiting: <= half its interval, <= 5 s

    @property
    def renew_every_s(self) -> float:
        return self.ttl_s / 3


def ping_tick_s(watchdog_interval_s: float | None) -> float:
    """How often a standby or taking-over node pings systemd's watchdog: its interval is
    ``Notifier.watchdog_interval_s`` (already half of ``WatchdogSec``), and never rarer than
    every 5 s, so neither a long TTL nor the takeover wait outlasts ``WatchdogSec``."""
    return min(watchdog_interval_s or 5.0, 5.0)


def wait_pinging(stop: threading.Event, seconds: float, tick_s: float,
                 ping: Callable[[], None]) -> bool:
    """``stop.wait(seconds)`` that calls ``ping`` every ``tick_s`` (and first); True when
    stopped."""
    deadline = time.monotonic() + seconds
    while True:
        ping()
        left_s = deadline - time.monotonic()
        if left_s <= 0:
            return stop.is_set()
        if stop.wait(min(tick_s, left_s)):
            return True


def wait_for_lease(lease: Lease, settings: FailoverSettings, stop: threading.Event,
                   role: Role, on_tick: Callable[[str], None],
                   ping: Callable[[], None] = lambda: None) -> int | None:
    """As standby until the lease is ours (its epoch) or ``stop`` (None): ``on_tick`` with
    the status after every try (each ``ttl/3``), ``ping`` every ``settings.tick_s``."""
    import psycopg

    while not stop.is_set():
        try:
            epoch = lease.try_acquire()
            if epoch is not None:
                return epoch
            state = lease.state()
            held = "" if state is None else (
                f"lease held by {state.holder} (epoch {state.epoch}) until "
                f"{state.expires_at.isoformat(timespec='seconds')}")
        except psycopg.Error as exc:
            held = f"PostgreSQL unreachable: {type(exc).__name__}"
        role.set("standby", held)
        on_tick(f"standby; {held}")
        wait_pinging(stop, settings.renew_every_s, settings.tick_s, ping)
    return None


def takeover_wait_s(settings: FailoverSettings, free_for_s: float) -> float:
    """What is left of the takeover wait: a lease released cleanly (``inf``) or free for
    long already leaves no former active's request in flight."""
    return max(0.0, settings.takeover_wait_s - free_for_s)


def takeover_pause(settings: FailoverSettings, stop: threading.Event, role: Role,
                   epoch: int, free_for_s: float = 0.0,
                   ping: Callable[[], None] = lambda: None) -> bool:
    """Wait before any Salesforce write (:func:`takeover_wait_s`), calling ``ping`` (the
    watchdog) every ``settings.tick_s``; False when stopped."""
    wait_s = takeover_wait_s(settings, free_for_s)
    role.set("taking-over", f"epoch {epoch}: waiting {wait_s:.0f} s before "
                            "the first Salesforce write")
    if wait_s > 0:
        log.warning("took the lease at epoch %d; waiting %.1f s (lease TTL + the longest "
                    "Salesforce request timeout, less the %.1f s it was already free) before "
                    "writing to Salesforce, so a former active's request in flight has ended",
                    epoch, wait_s, free_for_s)
    else:
        log.info("took the lease at epoch %d (released cleanly or long free: no wait)", epoch)
    if wait_pinging(stop, wait_s, settings.tick_s, ping):
        return False
    role.set("active", f"epoch {epoch}")
    return True


class LeaseKeeper:
    """Renews the lease every ``ttl/3`` on its own thread; calls ``on_lost`` once, when a
    renewal finds the lease gone or cannot succeed before the trust window closes.

    A second thread, the deadline, calls ``on_lost`` when the trust window closes with no
    renewal, whatever the renewing thread is doing: a connection to a black-holed PostgreSQL
    (packets dropped, or a middlebox that accepts and forwards nothing) can block a renewal
    for much longer than the TTL, and the process must step down before its lease expires
    in the database, not when TCP gives up."""

    def __init__(self, lease: Lease, settings: FailoverSettings,
                 on_lost: Callable[[str], None]) -> None:
        self._lease = lease
        self._settings = settings
        self._on_lost = on_lost
        self._stop = threading.Event()
        self._once = threading.Lock()
        self._lost = False
        self._thread = threading.Thread(target=self._run, name="lease", daemon=True)
        self._deadline = threading.Thread(target=self._watch, name="lease-deadline",
                                          daemon=True)

    def start(self) -> LeaseKeeper:
        self._thread.start()
        self._deadline.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._deadline.join(5.0)
        self._thread.join(5.0)  # a renewal blocked on a dead connection is left behind

    def _lose(self, reason: str) -> None:
        with self._once:
            if self._lost or self._stop.is_set():
                return
            self._lost = True
        self._on_lost(reason)

    def _watch(self) -> None:
        while not self._stop.is_set():
            left_s = self._lease.trusted_for_s()
            if left_s <= 0:
                self._lose("the trust window closed with no renewal (PostgreSQL did not "
                           "answer in time)")
                return
            self._stop.wait(min(left_s, self._settings.renew_every_s))

    def _run(self) -> None:
        import psycopg

        while not self._stop.wait(self._settings.renew_every_s) and not self._lost:
            try:
                if self._lease.renew():
                    continue
                reason = "the lease was found expired or taken over"
            except psycopg.Error as exc:
                if self._lease.trusted():
                    log.warning("lease renewal failed (%s); retrying while the lease is "
                                "still trusted", type(exc).__name__)
                    continue
                reason = f"no renewal before the trust window closed ({type(exc).__name__})"
            self._lose(reason)
            return
