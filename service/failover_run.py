"""``run`` on the PostgreSQL inbox: standby until the lease is ours, then the usual daemon.

Kept apart from :mod:`service.wiring` (which builds the active daemon the same way for both
backends) so the SQLite path stays as it was. See :mod:`service.failover` for the protocol.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from psycopg_pool import ConnectionPool

from service.config import Config
from service.failover import (
    EXIT_LEASE_LOST,
    ROLE_FILE,
    FailoverSettings,
    LeaseKeeper,
    Role,
    ping_tick_s,
    takeover_pause,
    wait_for_lease,
    wait_pinging,
)
from service.health import HealthServer
from service.inbox_backend import ActiveElsewhere, readers_of, retention_s
from service.jobs_wiring import client_settings
from service.lifecycle import Notifier
from service.metrics import Metrics
from service.state_guard import IDENTITY_NAME, read_identity, write_identity
from subscriber.errors import Fatal
from subscriber.inbox_api import InboxStore
from subscriber.inbox_pg import PgInbox
from subscriber.pg_connect import Unreachable, open_pool, refuse_transaction_pooler, where
from subscriber.pg_lease import Lease
from subscriber.pg_schema import require_current

log = logging.getLogger("lifecycle_sync")

RunActive = Callable[[InboxStore, Role, Callable[[Metrics], None]], int]


def failover_settings(config: Config, tick_s: float = 5.0) -> FailoverSettings:
    """The TTL, and the wait before a new active's first Salesforce write: the TTL plus the
    longest Salesforce request (connect + read timeout), unless configured. Computed once per
    start (it warns about a wait below that bound)."""
    client = client_settings(config)  # apply.read_timeout_s as the daemon uses it
    longest_s = client.connect_timeout_s + client.read_timeout_s
    ttl = config.inbox.lease_ttl_s
    wait = config.inbox.takeover_wait_s
    if wait is None:
        wait = ttl + longest_s
    elif wait < ttl + longest_s:
        log.warning("inbox.takeover_wait_s = %.1f is below the lease TTL plus the longest "
                    "Salesforce request (%.1f s): a former active's request in flight may "
                    "still land after this node's first write", wait, ttl + longest_s)
    return FailoverSettings(ttl_s=ttl, takeover_wait_s=wait, tick_s=tick_s)


def run_failover(config: Config, stop: threading.Event, notifier: Notifier,
                 run_active: RunActive, on_lost: Callable[[str], None] | None = None,
                 reset: bool = False) -> int:
    """Open the shared inbox, wait as standby, take over, run ``run_active`` fenced.
    ``reset``: ``run --reset-inbox`` (adopt a database whose inbox ID this node has not seen)."""
    dsn = config.inbox.dsn
    settings = failover_settings(config, ping_tick_s(notifier.watchdog_interval_s))
    pool = _open_when_reachable(config, settings, stop, notifier)
    if pool is None:
        return 0
    try:
        with pool.connection() as conn:
            require_current(conn, where(dsn))
        lease = Lease(pool, ttl_s=config.inbox.lease_ttl_s)
        inbox = PgInbox(pool, where=where(dsn), applied_retention_s=retention_s(config),
                        fence=lease, owns_pool=False)
        check_identity(config.service.state_dir, inbox, reset)
        return _as_standby_then_active(config, settings, stop, notifier, inbox, lease,
                                       run_active, on_lost or _exit_now)
    finally:
        pool.close()


def _open_when_reachable(config: Config, settings: FailoverSettings, stop: threading.Event,
                         notifier: Notifier) -> ConnectionPool | None:
    """The pool, once PostgreSQL accepts us; None when stopped first. Unreachable at start
    (refused, timed out, starting up: :class:`Unreachable`) is a standby's normal wait: the
    database may come back, and systemd must not give up on us (exit 78 prevents restarts).
    Refused credentials or an unknown database or role raise :class:`Fatal` (exit 78)."""
    dsn = config.inbox.dsn
    every_s = settings.renew_every_s
    said = ""
    while not stop.is_set():
        try:
            refuse_transaction_pooler(dsn)
            return open_pool(dsn, max_size=config.apply.workers + 6,
                             idle_in_transaction_s=config.inbox.lease_ttl_s)
        except Unreachable as exc:
            if str(exc) != said:  # once per cause, not every few seconds
                log.warning("standby: %s; trying again every %.0f s", exc, every_s)
                said = str(exc)
            notifier.ready(f"standby; PostgreSQL unreachable at {where(dsn)}")
        wait_pinging(stop, every_s, settings.tick_s, notifier.watchdog)
    return None


@contextlib.contextmanager
def leased_inbox(config: Config) -> Iterator[PgInbox]:
    """The shared inbox for a command (``replay``, ``jobs run``, ``forget``): it takes the
    lease like a daemon (renewed meanwhile, released at the end), so it writes only while no
    daemon is active, fenced like one."""
    dsn = config.inbox.dsn
    pool = open_pool(dsn, max_size=4, idle_in_transaction_s=config.inbox.lease_ttl_s)
    try:
        with pool.connection() as conn:
            require_current(conn, where(dsn))
        lease = Lease(pool, ttl_s=config.inbox.lease_ttl_s)
        epoch = lease.try_acquire()
        if epoch is None:
            state = lease.state()
            holder = "another process" if state is None else (
                f"{state.holder} until {state.expires_at.isoformat(timespec='seconds')}")
            raise ActiveElsewhere(
                f"a daemon is active on the PostgreSQL inbox at {where(dsn)} (lease held by "
                f"{holder}): the active node runs the jobs itself; stop every node "
                "(systemctl stop lifecycle-sync) to run this by hand")
        settings = failover_settings(config)
        keeper = LeaseKeeper(lease, settings, lambda reason: log.error("lease lost: %s; this "
                                                                       "command's writes now "
                                                                       "fail", reason))
        waited = False  # Ctrl-C in the takeover wait: the wait must survive the release
        try:
            keeper.start()
            waited = takeover_pause(settings, threading.Event(), Role(lease), epoch,
                                    lease.free_for_s)
            try:
                yield PgInbox(pool, where=where(dsn), applied_retention_s=retention_s(config),
                              fence=lease, owns_pool=False)
            except BaseException:
                waited = False  # stopped mid-command: a Salesforce request may be in flight
                raise
        finally:
            _step_down(keeper, lease, threading.Event(), waited=waited)
    finally:
        pool.close()


def check_identity(state_dir: Path, inbox: PgInbox, reset: bool) -> None:
    """Like the SQLite file (service.state_guard): a node remembers which inbox it used, so a
    database that was replaced or recreated (an empty schema: every topic would resubscribe
    from start_from and apply retained events again) is refused, not silently adopted."""
    marker = state_dir / IDENTITY_NAME
    recorded, found = read_identity(marker), inbox.identity()
    if recorded is not None and recorded.inbox_id != found.inbox_id and not reset:
        raise Fatal(
            f"the PostgreSQL inbox at {inbox.where} has ID {found.inbox_id}, but this node "
            f"last used inbox {recorded.inbox_id} ({marker}). The database was replaced, "
            "recreated or is not the one this node belongs to; starting on it could skip or "
            "repeat events. Point inbox.dsn at the right database, or, to adopt this one "
            f"deliberately, run once with `lifecycle-sync run --reset-inbox` (or delete "
            f"{marker})")
    if recorded != found:
        write_identity(marker, found)


def _as_standby_then_active(config: Config, settings: FailoverSettings,
                            stop: threading.Event, notifier: Notifier, inbox: PgInbox,
                            lease: Lease, run_active: RunActive,
                            on_lost: Callable[[str], None]) -> int:
    role = Role(lease, lambda name: note_role(config.service.state_dir, name, lease.holder))
    log.info("standby: holder %s, waiting for the lease on %s", lease.holder, inbox.where)
    with _standby_server(config, inbox, role):
        notifier.ready("standby; waiting for the lease")

        def tick(status: str) -> None:
            notifier.watchdog()
            notifier.status(status)

        epoch = wait_for_lease(lease, settings, stop, role, tick, notifier.watchdog)
        if epoch is None:
            return 0
        lost = threading.Event()

        def lose(reason: str) -> None:
            lost.set()
            role.set("stepping-down", reason)
            stop.set()
            on_lost(reason)

        keeper = LeaseKeeper(lease, settings, lose).start()
        if not takeover_pause(settings, stop, role, epoch, lease.free_for_s,
                              notifier.watchdog):
            return _step_down(keeper, lease, lost, waited=False)
    notifier.status(f"active at epoch {epoch}")
    code = 1
    try:
        code = run_active(inbox, role, lambda metrics: metrics.registry.register(
            RoleCollector(role)))
    finally:
        stepped = _step_down(keeper, lease, lost, role.in_flight)
    return stepped or code


def note_role(state_dir: Path, name: str, holder: str = "") -> None:
    """``STATE/role``: "PID ROLE HOLDER", for ``status`` (service.status_failover), which sees
    only the lease row: that cannot tell an active from one still in its takeover wait, nor
    (by host and PID alone) this daemon from a crashed one whose PID it reused; the holder's
    random tag can."""
    path = state_dir / ROLE_FILE
    with contextlib.suppress(OSError):
        path.with_suffix(".tmp").write_text(f"{os.getpid()} {name} {holder}\n")
        path.with_suffix(".tmp").replace(path)


def _step_down(keeper: LeaseKeeper, lease: Lease, lost: threading.Event,
               in_flight: list[str] | None = None, waited: bool = True) -> int:
    """A clean stop releases the lease (a standby takes over without waiting the TTL), but
    only once no writer may still have a Salesforce request in flight. Stopped during the
    takeover wait (``waited`` False), a former holder's request may still be in flight: the
    release keeps this holder's name, so the next taker counts the lease as free only since
    now and waits the takeover wait out (:meth:`Lease.release`)."""
    keeper.close()
    if lost.is_set():
        return EXIT_LEASE_LOST
    if in_flight:
        log.warning("not releasing the lease: %s did not finish in time and may still have "
                    "a Salesforce request in flight; a standby takes over once the lease "
                    "expires, then waits the longest request time", ", ".join(in_flight))
        return 0
    try:
        lease.release(clean=waited)
    except psycopg.Error as exc:
        log.warning("could not release the lease (%s); a standby takes over once it expires",
                    type(exc).__name__)
    return 0


@contextlib.contextmanager
def _standby_server(config: Config, inbox: PgInbox, role: Role) -> Iterator[None]:
    """/metrics and /readyz (503, "standby: …") while not active."""
    if not config.metrics.port:
        yield
        return
    metrics = Metrics(config.pubsub.topics, readers_of(inbox))
    metrics.registry.register(RoleCollector(role))
    server = HealthServer(config.metrics.port, metrics.registry, role).start()
    try:
        yield
    finally:
        server.close()


def _exit_now(reason: str) -> None:
    """Stop every write at once: no thread gets to start another Salesforce call."""
    log.error("lease lost: %s. Exiting %d so the service manager restarts this daemon as a "
              "standby", reason, EXIT_LEASE_LOST)
    for handler in logging.getLogger().handlers + log.handlers:
        with contextlib.suppress(Exception):
            handler.flush()
    sys.stderr.flush()
    os._exit(EXIT_LEASE_LOST)


class RoleCollector(Collector):
    """``lifecycle_sync_role{role=…}`` (1 for the current role) and the lease epoch."""

    ROLES = ("active", "standby", "taking-over", "stepping-down")

    def __init__(self, role: Role) -> None:
        self._role = role

    def collect(self) -> Iterator[GaugeMetricFamily]:
        current = self._role.name
        roles = GaugeMetricFamily("lifecycle_sync_role", "This process's failover role",
                                  labels=("role",))
        for name in self.ROLES:
            roles.add_metric([name], 1.0 if name == current else 0.0)
        yield roles
        lease = self._role.lease
        epoch = None if lease is None else lease.epoch
        yield GaugeMetricFamily("lifecycle_sync_lease_epoch",
                                "The lease epoch this process holds (0: none)",
                                value=float(epoch or 0))
