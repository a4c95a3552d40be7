"""The fence under load: eight threads writing fenced transactions while the keeper renews.

The fence locks the lease row ``FOR KEY SHARE``. A renewal (an UPDATE of ``expires_at``
only, which takes ``FOR NO KEY UPDATE``) does not conflict with it, so renewals never queue
behind the writers; a takeover's ``SELECT … FOR UPDATE`` does conflict, so it still waits for
every fenced transaction in flight (tests/failover/test_lease.py). With ``FOR SHARE`` the
renewal conflicted with every writer; with the row always share-locked by some writer, the
renewal waited out its lock timeout, again and again, until the trust window closed and the
process stepped down while healthy.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from service.failover import FailoverSettings, LeaseKeeper
from subscriber.inbox_pg import PgInbox
from subscriber.pg_connect import open_pool
from subscriber.pg_lease import Lease
from subscriber.pg_schema import upgrade

WRITERS = 8
TTL_S = 1.5  # renewed every 0.5 s, each renewal waiting at most 0.5 s for the row lock
RUN_S = 4.0  # eight renewals


@pytest.fixture
def pool(pg_dsn: str) -> Iterator[ConnectionPool]:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        upgrade(conn)
    pool = open_pool(pg_dsn, max_size=WRITERS + 2)
    yield pool
    pool.close()


def write_until(inbox: PgInbox, name: str, done: threading.Event, written: dict[str, int],
                errors: list[BaseException]) -> None:
    """Fenced writes, each holding its transaction (and so the lease row lock) a moment."""
    n = 0
    try:
        while not done.is_set():
            with inbox._transaction() as (cur, _epoch):
                cur.execute("INSERT INTO lsync_meta (key, value) VALUES (%s, %s) "
                            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                            (name, str(n)))
                cur.execute("SELECT pg_sleep(0.01)")
            n += 1
    except BaseException as exc:  # asserted by the test
        errors.append(exc)
    written[name] = n


def test_eight_fenced_writers_never_starve_the_renewal(pool: ConnectionPool) -> None:
    lease = Lease(pool, ttl_s=TTL_S, holder="a")
    inbox = PgInbox(pool, where="test", fence=lease, owns_pool=False)
    assert lease.try_acquire() == 1
    lost: list[str] = []
    keeper = LeaseKeeper(lease, FailoverSettings(ttl_s=TTL_S, takeover_wait_s=0),
                         lost.append).start()
    done = threading.Event()
    written: dict[str, int] = {}
    errors: list[BaseException] = []
    threads = [threading.Thread(target=write_until, args=(inbox, f"w{i}", done, written,
                                                          errors)) for i in range(WRITERS)]
    for t in threads:
        t.start()
    done.wait(RUN_S)
    done.set()
    for t in threads:
        t.join(10)
    keeper.close()
    assert lost == [], "the keeper stepped down while every writer was healthy"
    assert errors == [], f"a fenced write failed: {errors[:1]}"
    with pool.connection() as conn:
        found = conn.execute("SELECT key, value FROM lsync_meta WHERE key LIKE 'w%'")
        rows: dict[str, str] = dict(found.fetchall())
    print(f"{sum(written.values())} fenced writes by {WRITERS} threads in {RUN_S} s, "
          f"lease renewed every {TTL_S / 3:.1f} s")
    assert len(written) == WRITERS
    assert min(written.values()) > 0
    assert rows == {name: str(n - 1) for name, n in written.items()}, "every commit landed"
