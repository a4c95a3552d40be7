"""The lease keeper steps down when its lease would expire even while PostgreSQL is
black-holed (a renewal blocked with no answer and no TCP error), and the pool's connections
carry libpq TCP timeouts so a dead server breaks them instead of hanging them."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg
import pytest
from blackhole_proxy import BlackHoleProxy
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from service.failover import FailoverSettings, LeaseKeeper
from subscriber.errors import LeaseLost
from subscriber.inbox_pg import PgInbox
from subscriber.pg_connect import open_pool
from subscriber.pg_lease import Lease

TTL_S = 1.5


@pytest.fixture
def proxy(upgraded_dsn: str) -> Iterator[BlackHoleProxy]:
    parts = conninfo_to_dict(upgraded_dsn)
    made = BlackHoleProxy((str(parts.get("host") or "127.0.0.1"), int(parts["port"])))
    yield made
    made.close()


def through(dsn: str, proxy: BlackHoleProxy) -> str:
    return make_conninfo(dsn, host="127.0.0.1", port=str(proxy.port))


def test_a_keeper_blocked_on_a_black_holed_database_steps_down_at_its_deadline(
        upgraded_dsn: str, proxy: BlackHoleProxy) -> None:
    pool = open_pool(through(upgraded_dsn, proxy), max_size=3, idle_in_transaction_s=TTL_S)
    lease = Lease(pool, ttl_s=TTL_S, holder="a")
    inbox = PgInbox(pool, where="test", fence=lease, owns_pool=False)
    assert lease.try_acquire() == 1
    lost = threading.Event()
    reasons: list[str] = []

    def on_lost(reason: str) -> None:
        reasons.append(reason)
        lost.set()

    keeper = LeaseKeeper(lease, FailoverSettings(ttl_s=TTL_S, takeover_wait_s=0),
                         on_lost).start()
    try:
        inbox.set_meta("before", "1")  # a fenced write through the proxy: it forwards
        holed_at = time.monotonic()
        proxy.black_hole()
        assert lost.wait(TTL_S + 10), "the keeper never stepped down"
        took_s = time.monotonic() - holed_at
        print(f"stepped down {took_s:.2f} s after the black hole (TTL {TTL_S} s)")
        assert took_s <= TTL_S + 1.0, "stepped down after its lease expired in the database"
        assert reasons == [reasons[0]], "on_lost is called once"
        with pytest.raises(LeaseLost):
            lease.require_trusted()  # no Salesforce request starts any more
    finally:
        keeper.close()
        proxy.close()
        pool.close(timeout=1)


def test_the_pool_connections_carry_tcp_timeouts_scaled_to_the_lease(upgraded_dsn: str
                                                                       ) -> None:
    pool = open_pool(upgraded_dsn, max_size=1, idle_in_transaction_s=30.0)
    try:
        with pool.connection() as conn:
            dsn = conninfo_to_dict(conn.info.dsn)
    finally:
        pool.close()
    assert dsn["keepalives"] == "1"
    assert dsn["keepalives_idle"] == "10"
    assert dsn["tcp_user_timeout"] == "10000"
    assert dsn["connect_timeout"] == "10"
    given = open_pool(make_conninfo(upgraded_dsn, tcp_user_timeout="2500"), max_size=1)
    try:
        with given.connection() as conn:
            assert conninfo_to_dict(conn.info.dsn)["tcp_user_timeout"] == "2500", (
                "what the DSN sets is kept")
    finally:
        given.close()
    assert psycopg  # the extra is installed (the fixture skipped otherwise)
