"""The lease as two nodes live it, on a real PostgreSQL server: the keeper renews it while
it is ours and steps down once when it was taken over; a standby waits, saying who holds it,
until stopped or until the lease is free (mutation testing found these unpinned at unit
level; the daemon-level failover tests do not fit its per-mutant budget)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from helpers.ports import refused_port
from svc_waiting import wait_until

from benchmarks.rig import NotifySocket
from service.config import load_config
from service.failover import FailoverSettings, LeaseKeeper, Role, wait_for_lease
from service.failover_run import run_failover
from service.lifecycle import Notifier
from subscriber.pg_connect import open_pool
from subscriber.pg_lease import Lease
from subscriber.pg_schema import upgrade

# The leases' TTL: long, so no lease expires and no trust window closes during a test on a
# loaded machine (expiry is what none of these tests is about).
TTL_S = 30.0
# The keeper's cadence only (it renews every ttl_s / 3 = 0.5 s): the settings' TTL sets how
# often the keeper renews, the Lease's own TTL (above) when the lease expires.
SETTINGS = FailoverSettings(ttl_s=1.5, takeover_wait_s=0.0, tick_s=0.1)


@pytest.fixture
def leases(pg_dsn: str) -> Iterator[tuple[Lease, Lease]]:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        upgrade(conn)
    pool = open_pool(pg_dsn, max_size=4, idle_in_transaction_s=TTL_S)
    try:
        yield Lease(pool, ttl_s=TTL_S, holder="node-a"), Lease(pool, ttl_s=TTL_S,
                                                                holder="node-b")
    finally:
        pool.close()


def test_the_keeper_renews_the_lease_while_it_is_ours(leases: tuple[Lease, Lease]) -> None:
    a, b = leases
    assert a.try_acquire() == 1
    first = a.state()
    assert first is not None
    lost: list[str] = []
    keeper = LeaseKeeper(a, SETTINGS, lost.append).start()
    try:
        wait_until(lambda: (s := a.state()) is not None and s.expires_at > first.expires_at,
                   10.0, what="a renewal")
        assert b.try_acquire() is None  # still held by a
    finally:
        keeper.close()
    assert lost == []


def test_the_keeper_steps_down_once_when_the_lease_was_taken_over(
        leases: tuple[Lease, Lease], pg_dsn: str) -> None:
    a, _ = leases
    assert a.try_acquire() == 1
    lost: list[str] = []
    keeper = LeaseKeeper(a, SETTINGS, lost.append).start()
    try:
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute("UPDATE lsync_lease SET holder = 'node-b', epoch = epoch + 1")
        wait_until(lambda: lost, 10.0, what="the keeper stepping down")
    finally:
        keeper.close()
    assert lost == ["the lease was found expired or taken over"]


def test_a_standby_waits_saying_who_holds_the_lease_until_stopped(
        leases: tuple[Lease, Lease]) -> None:
    a, b = leases
    assert a.try_acquire() == 1
    stop = threading.Event()
    ticks: list[str] = []
    pings: list[int] = []

    def tick(status: str) -> None:
        ticks.append(status)
        stop.set()

    role = Role(b)
    assert wait_for_lease(b, SETTINGS, stop, role, tick, lambda: pings.append(1)) is None
    assert ticks[0].startswith("standby; lease held by node-a (epoch 1) until 20")
    assert role.name == "standby"
    assert role.detail == ticks[0].removeprefix("standby; ")
    assert pings  # the watchdog is fed while waiting
    a.release()
    assert wait_for_lease(b, SETTINGS, threading.Event(), role, ticks.append) == 2


def test_a_node_started_while_postgresql_is_unreachable_waits_as_standby_and_stops_with_0(
        tmp_path: Path) -> None:
    with refused_port() as port:
        (tmp_path / "sync.toml").write_text(
            '[service]\nstate_dir = "state"\n[auth]\nmode = "static_token"\n'
            'instance_url = "https://127.0.0.1:9"\ntenant_id = "00Dxx0000000001"\n'
            f'[inbox]\nbackend = "postgres"\ndsn = "host=127.0.0.1 port={port} dbname=x '
            'user=x"\n')
        config = load_config(tmp_path / "sync.toml", {"LIFECYCLE_SYNC_AUTH_ACCESS_TOKEN": "t"})
        sock = NotifySocket(tmp_path / "notify")
        stop = threading.Event()
        result: list[int] = []
        worker = threading.Thread(target=lambda: result.append(run_failover(
            config, stop, Notifier(str(sock.path)), lambda *a: 99)))
        worker.start()
        try:
            wait_until(lambda: "WATCHDOG=1" in sock.drain(), 30.0, what="a watchdog ping")
            assert f"STATUS=standby; PostgreSQL unreachable at 127.0.0.1:{port}/x" in sock.drain()
        finally:
            stop.set()
            worker.join(30.0)
            sock.close()
    assert result == [0]  # stopped while waiting: a clean exit, nothing ran


def test_a_node_takes_a_free_lease_runs_as_active_and_returns_its_code(
        pg_dsn: str, tmp_path: Path) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        upgrade(conn)
    (tmp_path / "sync.toml").write_text(
        '[service]\nstate_dir = "state"\n[auth]\nmode = "static_token"\n'
        'instance_url = "https://127.0.0.1:9"\ntenant_id = "00Dxx0000000001"\n'
        f'[inbox]\nbackend = "postgres"\ndsn = "{pg_dsn}"\n')
    config = load_config(tmp_path / "sync.toml", {"LIFECYCLE_SYNC_AUTH_ACCESS_TOKEN": "t"})
    (tmp_path / "state").mkdir(mode=0o700)
    sock = NotifySocket(tmp_path / "notify")
    seen: list[str] = []

    def run_active(inbox: object, role: Role, register: object) -> int:
        seen.append(role.name)
        return 7

    try:
        code = run_failover(config, threading.Event(), Notifier(str(sock.path)), run_active)
        messages = sock.drain()
    finally:
        sock.close()
    assert code == 7
    assert seen == ["active"]
    assert "STATUS=active at epoch 1" in messages
