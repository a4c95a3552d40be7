"""The fenced lease on a real PostgreSQL: strictly increasing epochs, takeover only after
expiry, and no write of an old epoch committing after a takeover."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from subscriber.errors import InboxFailed, LeaseLost
from subscriber.events import DecodedEvent, EntryKind, EntryStatus
from subscriber.inbox_pg import PgInbox
from subscriber.pg_connect import open_pool
from subscriber.pg_lease import Lease, read_lease
from subscriber.pg_schema import upgrade

T = "/event/T__e"


class Ticks:
    """A monotonic clock the test moves (the trust window), never the database's."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def event(i: int) -> DecodedEvent:
    return DecodedEvent(T, bytes([i]) * 10, f"uuid-{i}", "s1", EntryKind.EVENT, {"n": i})


@pytest.fixture
def pool(pg_dsn: str) -> Iterator[ConnectionPool]:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        upgrade(conn)
    pool = open_pool(pg_dsn, max_size=4)
    yield pool
    pool.close()


def expire(pool: ConnectionPool) -> None:
    """What the TTL passing does to the row (the DB clock is the only one that counts)."""
    with pool.connection() as conn:
        conn.execute("UPDATE lsync_lease SET expires_at = now() - interval '1 second'")


def test_only_an_expired_lease_is_taken_and_every_taking_bumps_the_epoch(
        pool: ConnectionPool) -> None:
    a, b = Lease(pool, ttl_s=30, holder="a"), Lease(pool, ttl_s=30, holder="b")
    assert read_lease(pool) is None
    assert a.try_acquire() == 1
    assert b.try_acquire() is None
    assert a.try_acquire() is None, "even the holder cannot re-take a live lease"
    assert a.renew()
    expire(pool)
    assert not a.renew(), "an expired lease is not renewed: its holder must step down"
    assert a.epoch is None
    assert b.try_acquire() == 2
    state = read_lease(pool)
    assert state is not None
    assert (state.holder, state.epoch, state.held) == ("b", 2, True)
    expire(pool)
    assert a.try_acquire() == 3


def test_a_write_of_an_old_epoch_is_rolled_back_after_a_takeover(pool: ConnectionPool) -> None:
    a, b = Lease(pool, ttl_s=30, holder="a"), Lease(pool, ttl_s=30, holder="b")
    old = PgInbox(pool, where="test", fence=a)
    new = PgInbox(pool, where="test", fence=b)
    with pytest.raises(LeaseLost, match="does not hold"):
        old.store_batch(T, [event(1)], b"\x01" * 10)
    assert a.try_acquire() == 1
    old.store_batch(T, [event(1), event(2)], b"\x02" * 10)
    expire(pool)
    assert b.try_acquire() == 2
    ids = [e.id for e in old.pending()]
    with pytest.raises(LeaseLost, match="epoch 1"):
        old.mark_done(ids, {})
    with pytest.raises(LeaseLost):
        old.store_batch(T, [event(3)], b"\x03" * 10)
    assert isinstance(LeaseLost("x"), InboxFailed), "the daemon exits 1 on it"
    assert [e.event_id for e in new.pending()] == ["uuid-1", "uuid-2"]
    assert new.checkpoint(T).replay_id == b"\x02" * 10
    assert new.mark_done(ids, {}) == 2
    with pool.connection() as conn:
        epochs = conn.execute("SELECT landed_epoch, applied_epoch FROM lsync_entries").fetchall()
    assert epochs == [(1, 2), (1, 2)]
    assert [e.status for e in new.entries(EntryStatus.APPLIED)] == [EntryStatus.APPLIED] * 2


def test_a_paused_holder_distrusts_itself_before_the_database_expires_it(
        pool: ConnectionPool) -> None:
    ticks = Ticks()
    a = Lease(pool, ttl_s=30, holder="a", monotonic=ticks)
    inbox = PgInbox(pool, where="test", fence=a)
    assert a.try_acquire() == 1
    ticks.now += 30 - a.margin_s - 0.01
    inbox.store_batch(T, [event(1)], b"\x01" * 10)
    ticks.now += 0.02  # e.g. woken from SIGSTOP: the row may still look live to PostgreSQL
    with pytest.raises(LeaseLost):
        inbox.store_batch(T, [event(2)], b"\x02" * 10)
    assert [e.event_id for e in inbox.pending()] == ["uuid-1"]
    assert a.renew(), "the row is still ours: renewing restores trust"
    inbox.store_batch(T, [event(2)], b"\x02" * 10)


def test_a_takeover_waits_for_a_fenced_transaction_in_flight(pool: ConnectionPool) -> None:
    """FOR KEY SHARE on the lease row: the taker's SELECT … FOR UPDATE waits until the old
    holder's fenced transaction ends, so the two never interleave, even when the row has
    expired meanwhile (a plain UPDATE, like a renewal, does not wait: test_fence_load)."""
    a, b = Lease(pool, ttl_s=30, holder="a"), Lease(pool, ttl_s=0.6, holder="b")
    assert a.try_acquire() == 1
    with pool.connection() as conn, conn.transaction():
        a.check(conn)
        expire(pool)  # not blocked: FOR KEY SHARE does not conflict with FOR NO KEY UPDATE
        assert b.try_acquire() is None, "the taker must not pass a fenced transaction"
    assert b.try_acquire() == 2


def test_release_lets_a_standby_take_over_at_once(pool: ConnectionPool) -> None:
    a, b = Lease(pool, ttl_s=30, holder="a"), Lease(pool, ttl_s=30, holder="b")
    assert a.try_acquire() == 1
    a.release()
    assert not a.trusted()
    assert b.try_acquire() == 2


def test_the_takeover_wait_is_only_what_a_former_holder_could_still_have_in_flight(
        pool: ConnectionPool) -> None:
    from service.failover import FailoverSettings, takeover_wait_s

    settings = FailoverSettings(ttl_s=30, takeover_wait_s=160)
    a, b = Lease(pool, ttl_s=30, holder="a"), Lease(pool, ttl_s=30, holder="b")
    assert a.try_acquire() == 1
    assert takeover_wait_s(settings, a.free_for_s) == 0, "never held before: nothing in flight"
    expire(pool)  # a crashed: expired a second ago, its request may still be in flight
    assert b.try_acquire() == 2
    assert 150 <= takeover_wait_s(settings, b.free_for_s) < 160
    b.release(clean=False)  # stopped in its wait: a's request may still be in flight
    assert a.try_acquire() == 3
    assert 155 <= takeover_wait_s(settings, a.free_for_s) <= 160, "the wait is handed on"
    a.release()
    assert b.try_acquire() == 4
    assert takeover_wait_s(settings, b.free_for_s) == 0, "released cleanly: nothing in flight"
    with pool.connection() as conn:
        conn.execute("UPDATE lsync_lease SET expires_at = now() - interval '1 hour'")
    assert a.try_acquire() == 5
    assert takeover_wait_s(settings, a.free_for_s) == 0, "free for an hour already"


@pytest.mark.skipif(not hasattr(time, "CLOCK_BOOTTIME"), reason="Linux's CLOCK_BOOTTIME")
def test_the_trust_window_counts_a_host_suspend(pool: ConnectionPool,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """CLOCK_MONOTONIC stops while the host is suspended; CLOCK_BOOTTIME does not: a node
    woken from a 10-minute suspend must not trust a lease that expired meanwhile."""
    lease = Lease(pool, ttl_s=30, holder="a")
    assert lease.try_acquire() == 1
    assert lease.trusted()
    real = time.clock_gettime
    monkeypatch.setattr(time, "clock_gettime", lambda clock: real(clock) + (
        600 if clock == getattr(time, "CLOCK_BOOTTIME", None) else 0))
    assert not lease.trusted(), "trusted after a suspend longer than the TTL"


def test_a_holder_frozen_inside_a_write_transaction_does_not_block_the_takeover(
        pool: ConnectionPool, upgraded_dsn: str) -> None:
    """SIGSTOP mid-transaction leaves the fence's share lock on the lease row; the server ends
    that session after the idle-in-transaction timeout, and the standby, which never queues
    for the lock longer than TTL/3, takes over."""
    from pair_rig import wait_until

    frozen_pool = open_pool(upgraded_dsn, max_size=1, idle_in_transaction_s=1.5)
    try:
        a = Lease(frozen_pool, ttl_s=1.0, holder="a")
        b = Lease(pool, ttl_s=3.0, holder="b")
        assert a.try_acquire() == 1
        frozen = frozen_pool.getconn()
        a.check(frozen)  # inside a transaction, then never another word: frozen
        assert wait_until(b.try_acquire, 15, 0.05, "b to take over") == 2
        frozen_pool.putconn(frozen)
    finally:
        frozen_pool.close()


@pytest.mark.parametrize(("ttl_s", "expected_ms"), [(30.0, 10000), (600.0, 20000)])
def test_the_wait_for_the_lease_rows_lock_never_outlasts_the_watchdog(
        pool: ConnectionPool, ttl_s: float, expected_ms: int) -> None:
    """A third of the TTL, capped at 20 s: a standby blocked on the row feeds no watchdog."""
    lease = Lease(pool, ttl_s=ttl_s)
    with pool.connection() as conn, conn.transaction():
        lease._lock_timeout(conn)
        row = conn.execute("SELECT current_setting('lock_timeout')").fetchone()
    assert row is not None
    assert row[0] == f"{expected_ms // 1000}s"
