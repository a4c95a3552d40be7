"""The PostgreSQL inbox as the daemon opens it: every write is fenced by the deployment's
lease, and its messages say where the inbox is (host, port, database) without secrets."""

from __future__ import annotations

import psycopg
import pytest

from subscriber.errors import InboxFailed, LeaseLost
from subscriber.events import DecodedEvent, EntryKind
from subscriber.inbox_pg import open_pg_inbox
from subscriber.pg_connect import open_pool, where
from subscriber.pg_lease import Lease
from subscriber.pg_schema import upgrade

T = "/event/SelfServeTrialEvent__e"
EVENT = DecodedEvent(T, b"\x00\x01", "uuid-1", "s1", EntryKind.EVENT, {"n": 1})


def _upgraded(dsn: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        upgrade(conn)
    return dsn


def test_a_fenced_inbox_refuses_writes_while_its_lease_is_not_held(pg_dsn: str) -> None:
    dsn = _upgraded(pg_dsn)
    pool = open_pool(dsn, max_size=2)
    lease = Lease(pool, ttl_s=3600.0)  # never taken: this process is a standby
    try:
        with open_pg_inbox(dsn, fence=lease) as inbox:
            with pytest.raises(LeaseLost, match="does not hold the lease"):
                inbox.store_batch(T, [EVENT], EVENT.replay_id)
            assert inbox.checkpoint(T).replay_id is None
            assert inbox.pending() == []
            assert lease.try_acquire() == 1
            assert inbox.store_batch(T, [EVENT], EVENT.replay_id).stored == 1
    finally:
        pool.close()


def test_the_inbox_names_its_location_in_messages_never_the_password(pg_dsn: str) -> None:
    dsn = _upgraded(pg_dsn) + " password=s3cret-pw"
    with open_pg_inbox(dsn) as inbox:
        location = where(dsn)
        assert location.endswith("/postgres")
        assert repr(inbox) == f"PgInbox({location!r})"
        with inbox.pool.connection() as conn:
            conn.execute("DROP TABLE lsync_entries CASCADE")
        with pytest.raises(InboxFailed) as failed:
            inbox.recent()
    assert str(failed.value).startswith(f"inbox read failed ({location}): ")
    assert 'relation "lsync_entries" does not exist' in str(failed.value)
    assert "s3cret" not in str(failed.value)


def test_the_inbox_pool_has_the_size_asked_for_and_the_lease_reads_back(pg_dsn: str) -> None:
    dsn = _upgraded(pg_dsn)
    with open_pg_inbox(dsn, pool_size=3) as inbox:
        assert inbox.pool.max_size == 3
        lease = Lease(inbox.pool, ttl_s=60.0, holder="node-a")
        assert lease.state() is None, "no daemon ever took it"
        assert lease.try_acquire() == 1
        state = lease.state()
        assert state is not None
        assert (state.holder, state.epoch) == ("node-a", 1)
        assert state.expires_at > state.db_now
