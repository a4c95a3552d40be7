"""The scheduler on the PostgreSQL backend: run records under the lease's fence (a failover
neither skips nor repeats a run), and the jobs' own inbox rewrites (erasure, poison
redaction) fenced the same way."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg_pool import ConnectionPool

from scheduler.erasure import address_forms, erase_from_inbox
from scheduler.job_inbox import PgJobInbox
from scheduler.registry import build_scheduler
from scheduler.retention import redact_poison
from scheduler.runner import JobRunner
from scheduler.runs_pg import PgRunStore
from scheduler.settings import SchedulerSettings
from scheduler.timing import triggers
from subscriber.errors import LeaseLost
from subscriber.events import DecodedEvent, EntryKind, UndecodableEvent
from subscriber.inbox_pg import PgInbox
from subscriber.pg_connect import open_pool
from subscriber.pg_lease import Lease

TOPIC = "/event/SelfServeTrialEvent__e"
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def pool(upgraded_dsn: str) -> Iterator[ConnectionPool]:
    pool = open_pool(upgraded_dsn, max_size=4)
    yield pool
    pool.close()


def expire(pool: ConnectionPool) -> None:
    with pool.connection() as conn:
        conn.execute("UPDATE lsync_lease SET expires_at = now() - interval '1 second'")


def test_run_records_cross_a_failover_and_a_lost_active_records_nothing(
        pool: ConnectionPool, tmp_path: Path) -> None:
    a, b = Lease(pool, ttl_s=30, holder="a"), Lease(pool, ttl_s=30, holder="b")
    assert a.try_acquire() == 1
    old = PgRunStore(pool, tmp_path / "a", a)
    run_id = old.started("retention", NOW)
    old.finished(run_id, "retention", NOW + dt.timedelta(seconds=5), True, "done")
    second = old.started("retry-parked", NOW)
    expire(pool)
    assert b.try_acquire() == 2
    with pytest.raises(LeaseLost):
        old.finished(second, "retry-parked", NOW, True, "late")
    with pytest.raises(LeaseLost):
        old.started("retention", NOW)
    new = PgRunStore(pool, tmp_path / "b", b)
    state = new.state("retention")
    assert (state.last_started_at, state.last_result, state.runs) == (NOW, "ok", 1)
    assert new.state("retry-parked").last_result == "running", "cut off: counts as missed"
    with pool.connection() as conn:
        assert conn.execute("SELECT job, epoch FROM lsync_job_runs ORDER BY id").fetchall() == [
            ("retention", 1), ("retry-parked", 1)]


def test_the_new_active_schedules_from_the_old_ones_record(pool: ConnectionPool,
                                                            tmp_path: Path) -> None:
    """A daily job that ran on the old active just before the failover is not run again at
    the new active's start; one that never ran is due at once."""
    settings = SchedulerSettings()
    a, b = Lease(pool, ttl_s=30, holder="a"), Lease(pool, ttl_s=30, holder="b")
    assert a.try_acquire() == 1
    old = PgRunStore(pool, tmp_path / "a", a)
    ran_at = NOW - dt.timedelta(minutes=1)
    old.finished(old.started("retention", ran_at), "retention", ran_at, True, "ok")
    expire(pool)
    assert b.try_acquire() == 2
    new = PgRunStore(pool, tmp_path / "b", b)
    jobs = {name: (lambda now: "ok") for name in triggers(settings)}
    scheduler = build_scheduler(JobRunner(jobs, triggers(settings), new, lambda: NOW), new,
                                settings, clock=lambda: NOW)
    first = {job.id: job.next_run_time for job in scheduler.get_jobs()}
    assert first["retention"] > NOW + dt.timedelta(hours=1), "already ran: not repeated"
    assert new.state("retention").next_run_at == first["retention"]


def _event(n: int, email: str) -> DecodedEvent:
    payload = {"Event_Type__c": "Trial", "Workspace_ID__c": f"ws-{n}", "Email__c": email,
               "Event_Data__c": json.dumps({"note": f"contact {email}"})}
    return DecodedEvent(TOPIC, bytes([n]) * 4, f"uuid-{n}", "s", EntryKind.EVENT, payload)


def test_erasure_and_poison_redaction_rewrite_the_shared_inbox_under_the_fence(
        pool: ConnectionPool) -> None:
    lease = Lease(pool, ttl_s=30, holder="a")
    assert lease.try_acquire() == 1
    inbox = PgInbox(pool, where="test", fence=lease)
    poison = UndecodableEvent(TOPIC, b"\x09" * 4, "uuid-9", "s", b"raw ann@acme.co.uk", "bad")
    inbox.store_batch(TOPIC, [_event(1, "Ann@Acme.co.uk"), _event(2, "bob@acme.co.uk"),
                              poison], b"\x09" * 4)
    place = PgJobInbox(pool, lease)
    assert erase_from_inbox(place, address_forms("ann@acme.co.uk")) == 2
    texts = [json.dumps(e.payload) for e in inbox.recent(10) if e.payload]
    assert not any("ann@acme" in t.lower() for t in texts)
    assert any("bob@acme.co.uk" in t for t in texts)
    assert [e.raw for e in inbox.recent(10) if e.event_id == "uuid-9"] == [None]
    assert redact_poison(place, dt.datetime.now(dt.UTC) + dt.timedelta(days=1)) == 0, (
        "the erasure already cleared the poison entry's raw bytes")
    inbox.store_batch(TOPIC, [UndecodableEvent(TOPIC, b"\x0a" * 4, "uuid-10", "s", b"x", "e")],
                      b"\x0a" * 4)
    expire(pool)
    with pytest.raises(LeaseLost):
        redact_poison(place, dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    with pytest.raises(LeaseLost):
        erase_from_inbox(place, address_forms("bob@acme.co.uk"))
