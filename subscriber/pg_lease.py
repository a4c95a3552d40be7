"""The deployment's lease: one logged row with a holder, an epoch and an expiry on the DB clock.

Exactly one daemon of a deployment is active: the one holding the lease row
(``lsync_lease``). Protocol (River's lease table, Temporal's fenced writes; see
docs/deployment.md "Two nodes"):

- **acquire**: ``UPDATE … SET holder = me, epoch = epoch + 1, expires_at = now() + ttl WHERE
  expires_at < now()``: only an expired lease can be taken, and every taking bumps the epoch,
  so epochs strictly increase across all holders (the row is logged: a PostgreSQL failover
  keeps it, unlike an advisory lock);
- **renew**: the same row, ``WHERE holder = me AND epoch = mine AND expires_at > now()``; zero
  rows means the lease is gone and this process must stop;
- **fence** (:meth:`Lease.check`): every write transaction first runs ``SELECT … FOR KEY
  SHARE`` on the row with this holder, epoch and an unexpired time. A taker's ``SELECT … FOR
  UPDATE`` conflicts with that lock, so it waits for fenced transactions in flight (no takeover
  commits between a check and its transaction's commit) and, once it commits, every later check
  of the old holder finds no row (READ COMMITTED re-reads the locked row), so nothing of an old
  epoch commits after a takeover. A renewal updates ``expires_at`` only (``FOR NO KEY
  UPDATE``), which KEY SHARE does not block: with ``FOR SHARE``, writers that always held some
  share lock on the row starved the renewal until the process stepped down
  (tests/failover/test_fence_load.py);
- **trust window**: on a monotonic clock that keeps counting while the host is suspended
  (:func:`trust_clock`: ``CLOCK_BOOTTIME`` on Linux; ``CLOCK_MONOTONIC`` stops there), from the
  *start* of the last successful acquire or renew plus ttl minus a margin. After it,
  :meth:`check` refuses without asking the database (a process paused by SIGSTOP, a VM freeze
  or a host suspend wakes up distrusting itself).

Times come from PostgreSQL's ``now()`` only: the nodes' clocks may disagree.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, NamedTuple

import psycopg
from psycopg_pool import ConnectionPool

from subscriber.errors import LeaseLost

__all__ = ["LEASE_NAME", "Lease", "LeaseState", "read_lease"]

LEASE_NAME = "lifecycle-sync"
MAX_LOCK_WAIT_S = 20.0  # longest wait for the lease row's lock (see Lease._lock_timeout)

_ENSURE = ("INSERT INTO lsync_lease VALUES (%s, '', 0, '-infinity', now()) "
           "ON CONFLICT (name) DO NOTHING")
# Also returns how long the lease had been free: a previous holder that released it ('' holder)
# left nothing in flight, and one that expired long ago neither.
_ACQUIRE = ("WITH prev AS (SELECT holder, expires_at FROM lsync_lease WHERE name = %s "
            "FOR UPDATE) "
            "UPDATE lsync_lease l SET holder = %s, epoch = l.epoch + 1, acquired_at = now(), "
            "expires_at = now() + make_interval(secs => %s) FROM prev "
            "WHERE l.name = %s AND l.expires_at < now() "
            "RETURNING l.epoch, prev.holder, "
            "extract(epoch FROM now() - NULLIF(prev.expires_at, '-infinity'))")
_RENEW = ("UPDATE lsync_lease SET expires_at = now() + make_interval(secs => %s) "
          "WHERE name = %s AND holder = %s AND epoch = %s AND expires_at > now() "
          "RETURNING epoch")
_FENCE = ("SELECT epoch FROM lsync_lease WHERE name = %s AND holder = %s AND epoch = %s "
          "AND expires_at > now() FOR KEY SHARE")
_RELEASE = ("UPDATE lsync_lease SET expires_at = now(), holder = '' "
            "WHERE name = %s AND holder = %s AND epoch = %s AND expires_at > now()")
# Released during the takeover wait: the holder stays, so the next taker sees the lease free
# only since now (not "released cleanly") and waits the takeover wait from here.
_RELEASE_KEEPING_WAIT = ("UPDATE lsync_lease SET expires_at = now() "
                         "WHERE name = %s AND holder = %s AND epoch = %s "
                         "AND expires_at > now()")
_READ = ("SELECT holder, epoch, expires_at, acquired_at, now() FROM lsync_lease "
         "WHERE name = %s")


class LeaseState(NamedTuple):
    """The lease row as the database sees it now (for ``status`` and metrics)."""

    holder: str
    epoch: int
    expires_at: dt.datetime
    acquired_at: dt.datetime
    db_now: dt.datetime

    @property
    def held(self) -> bool:
        return bool(self.holder) and self.expires_at > self.db_now


def trust_clock() -> float:
    """Seconds on a clock that never goes back and counts a host's suspend too (Linux's
    ``CLOCK_BOOTTIME``); ``time.monotonic`` where there is none (it stops while suspended,
    so a woken host would trust a lease that has long expired in the database)."""
    boottime = getattr(time, "CLOCK_BOOTTIME", None)
    if boottime is None:
        return time.monotonic()
    return time.clock_gettime(boottime)


def default_holder() -> str:
    """host:pid:random: a restarted process is a new holder and must wait for the expiry."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Lease:
    """This process's view of the lease; thread-safe. Also the inbox's write fence."""

    def __init__(self, pool: ConnectionPool, *, ttl_s: float, holder: str | None = None,
                 name: str = LEASE_NAME, monotonic: Callable[[], float] = trust_clock
                 ) -> None:
        self._pool = pool
        self.ttl_s = ttl_s
        self.holder = holder or default_holder()
        self.name = name
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self.epoch: int | None = None
        self._trusted_until = 0.0
        self.free_for_s = 0.0  # how long the lease was free before we took it (inf: released)

    @property
    def margin_s(self) -> float:
        """How long before the DB-side expiry this process stops trusting itself."""
        return self.ttl_s / 5

    def trusted(self) -> bool:
        with self._lock:
            return self.epoch is not None and self._monotonic() < self._trusted_until

    def trusted_for_s(self) -> float:
        """Seconds left in the trust window (0 when closed or never opened)."""
        with self._lock:
            if self.epoch is None:
                return 0.0
            return max(0.0, self._trusted_until - self._monotonic())

    def require_trusted(self) -> None:
        """The guard run before every Salesforce request (handlers.sf_client.GuardedSession):
        once the trust window has closed, not one more request starts."""
        if not self.trusted():
            raise LeaseLost(f"not calling Salesforce: this process ({self.holder}) no longer "
                            "trusts its lease (expired, lost or released)")

    def try_acquire(self) -> int | None:
        """Take the lease if it has expired; the new epoch, or None when another holds it
        (or is inside a write transaction on it: we do not queue behind a frozen holder)."""
        started = self._monotonic()
        try:
            with self._pool.connection() as conn, conn.transaction():
                self._lock_timeout(conn)
                conn.execute(_ENSURE, (self.name,))
                row = conn.execute(_ACQUIRE, (self.name, self.holder, self.ttl_s, self.name)
                                   ).fetchone()
        except psycopg.errors.LockNotAvailable:
            return None
        if row is None:
            return None
        self.free_for_s = (float("inf") if not row[1] or row[2] is None
                           else max(0.0, float(row[2])))
        with self._lock:
            self.epoch = int(row[0])
            self._trusted_until = started + self.ttl_s - self.margin_s
        return self.epoch

    def renew(self) -> bool:
        """Extend the lease; False (and the epoch forgotten) when it is no longer ours.
        Database errors propagate: the caller retries until the trust window closes."""
        epoch = self.epoch
        if epoch is None:
            return False
        started = self._monotonic()
        with self._pool.connection() as conn, conn.transaction():
            self._lock_timeout(conn)
            row = conn.execute(_RENEW, (self.ttl_s, self.name, self.holder, epoch)).fetchone()
        with self._lock:
            if row is None:
                self.epoch = None
                return False
            self._trusted_until = started + self.ttl_s - self.margin_s
        return True

    def _lock_timeout(self, conn: psycopg.Connection[Any]) -> None:
        """Wait at most a third of the TTL for the row lock (renewals are that often), and
        never over 20 s: a standby blocked here feeds no watchdog (the unit's WatchdogSec=60),
        and a TTL may be set up to 600 s."""
        millis = str(max(1, int(min(self.ttl_s / 3, MAX_LOCK_WAIT_S) * 1000)))
        conn.execute("SELECT set_config('lock_timeout', %s, true)", (millis,))

    def check(self, conn: psycopg.Connection[Any]) -> int:
        """The fence, run first in every write transaction: the epoch, or :class:`LeaseLost`."""
        epoch = self.epoch
        if epoch is None or not self.trusted():
            raise LeaseLost(f"not writing: this process ({self.holder}) does not hold the "
                            "lease (lost, expired or never taken)")
        row = conn.execute(_FENCE, (self.name, self.holder, epoch)).fetchone()
        if row is None:
            with self._lock:
                self.epoch = None
            raise LeaseLost(f"not writing: the lease is no longer held by {self.holder} at "
                            f"epoch {epoch} (expired or taken over); transaction rolled back")
        return epoch

    def release(self, clean: bool = True) -> None:
        """Let the lease expire now. ``clean``: with no holder, so a standby waits out
        neither the TTL nor the takeover wait (nothing of ours is in flight). Not clean (we
        stopped during our own takeover wait, so a *former* holder's request may still be in
        flight): the holder stays, and the next taker waits the takeover wait from now."""
        epoch, self.epoch = self.epoch, None
        if epoch is not None:
            with self._pool.connection() as conn, conn.transaction():
                conn.execute(_RELEASE if clean else _RELEASE_KEEPING_WAIT,
                             (self.name, self.holder, epoch))

    def state(self) -> LeaseState | None:
        return read_lease(self._pool, self.name)


def read_lease(pool: ConnectionPool, name: str = LEASE_NAME) -> LeaseState | None:
    """The lease row, or None when no daemon ever took it."""
    with pool.connection() as conn:
        row = conn.execute(_READ, (name,)).fetchone()
    return None if row is None else LeaseState(str(row[0]), int(row[1]), *row[2:5])
