"""The failover role on ``/metrics``: one ``lifecycle_sync_role`` series per role with 1 for
the current one, and the lease epoch (0 without a lease). Mutation testing found the
no-lease epoch unpinned (prometheus-client's exposition, parsed as a scraper would)."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import psycopg
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from svc_waiting import wait_until

from benchmarks.rig import NotifySocket
from service.config import load_config
from service.failover import Role
from service.failover_run import EXIT_LEASE_LOST, RoleCollector, _exit_now, run_failover
from service.lifecycle import Notifier
from subscriber.pg_connect import open_pool
from subscriber.pg_lease import Lease
from subscriber.pg_schema import upgrade


def scrape(role: Role) -> dict[str, list[tuple[dict[str, str], float]]]:
    registry = CollectorRegistry()
    registry.register(RoleCollector(role))
    text = generate_latest(registry).decode()
    return {f.name: [(s.labels, s.value) for s in f.samples]
            for f in text_string_to_metric_families(text)}


def test_without_a_lease_the_role_is_active_at_epoch_0() -> None:
    found = scrape(Role(None))
    assert found["lifecycle_sync_role"] == [
        ({"role": "active"}, 1.0), ({"role": "standby"}, 0.0), ({"role": "taking-over"}, 0.0),
        ({"role": "stepping-down"}, 0.0)]
    assert found["lifecycle_sync_lease_epoch"] == [({}, 0.0)]


def test_a_role_change_shows_at_the_next_scrape_and_is_told() -> None:
    told: list[str] = []
    role = Role(None, told.append)
    role.set("stepping-down", "lease lost")
    found = scrape(role)
    assert [labels["role"] for labels, value in found["lifecycle_sync_role"] if value] == [
        "stepping-down"]
    assert told == ["stepping-down"]


class Exited(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def test_a_lost_lease_logs_why_flushes_and_exits_with_the_lease_lost_code(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def exit_now(code: int) -> None:  # os._exit itself would end the test run
        raise Exited(code)

    monkeypatch.setattr(os, "_exit", exit_now)
    with caplog.at_level(logging.ERROR, "lifecycle_sync"), pytest.raises(Exited) as exited:
        _exit_now("renewal refused")
    assert exited.value.code == EXIT_LEASE_LOST
    assert [r.getMessage() for r in caplog.records] == [
        f"lease lost: renewal refused. Exiting {EXIT_LEASE_LOST} so the service manager "
        "restarts this daemon as a standby"]


def test_a_standby_takes_over_once_the_active_releases_the_lease(
        pg_dsn: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # A 30 s TTL: neither lease expires during the test, even on a loaded machine. A takeover
    # after expiry would log the takeover wait (TTL + request timeout) instead of "released
    # cleanly", so the log line tells the release the test is about from an expiry.
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        upgrade(conn)
    (tmp_path / "sync.toml").write_text(
        '[service]\nstate_dir = "state"\n[auth]\nmode = "static_token"\n'
        'instance_url = "https://127.0.0.1:9"\ntenant_id = "00Dxx0000000001"\n'
        f'[inbox]\nbackend = "postgres"\ndsn = "{pg_dsn}"\nlease_ttl_s = 30\n')
    config = load_config(tmp_path / "sync.toml", {"LIFECYCLE_SYNC_AUTH_ACCESS_TOKEN": "t"})
    (tmp_path / "state").mkdir(mode=0o700)
    pool = open_pool(pg_dsn, max_size=2)
    active = Lease(pool, ttl_s=30.0, holder="node-a")
    sock = NotifySocket(tmp_path / "notify")
    result: list[int] = []
    lost: list[str] = []  # instead of run_failover's default, os._exit
    try:
        assert active.try_acquire() == 1
        worker = threading.Thread(target=lambda: result.append(run_failover(
            config, threading.Event(), Notifier(str(sock.path)), lambda *a: 7,
            on_lost=lost.append)))
        with caplog.at_level(logging.INFO, "lifecycle_sync"):
            worker.start()
            wait_until(lambda: any(m.startswith("STATUS=standby; lease held by node-a")
                                   for m in sock.drain()), 30.0, what="the standby's status")
            active.release()
            worker.join(60.0)  # the standby tries again every ttl / 3 = 10 s
        assert not worker.is_alive()
        assert "STATUS=active at epoch 2" in sock.drain()
    finally:
        sock.close()
        pool.close()
    assert result == [7]
    assert lost == []
    assert "took the lease at epoch 2 (released cleanly or long free: no wait)" in [
        r.getMessage() for r in caplog.records]


def test_a_node_stopped_in_its_takeover_wait_releases_the_lease_keeping_the_wait(
        pg_dsn: str, tmp_path: Path) -> None:
    # The former active's lease expired (not released): its last request may still be in
    # flight, so the taker waits. Stopped during that wait, the taker must not release the
    # lease as clean (no holder), or the next taker would skip the wait: the row keeps the
    # holder's name. A 30 s TTL: no lease expires during the test.
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        upgrade(conn)
    (tmp_path / "sync.toml").write_text(
        '[service]\nstate_dir = "state"\n[auth]\nmode = "static_token"\n'
        'instance_url = "https://127.0.0.1:9"\ntenant_id = "00Dxx0000000001"\n'
        f'[inbox]\nbackend = "postgres"\ndsn = "{pg_dsn}"\nlease_ttl_s = 30\n'
        "takeover_wait_s = 600\n")
    config = load_config(tmp_path / "sync.toml", {"LIFECYCLE_SYNC_AUTH_ACCESS_TOKEN": "t"})
    (tmp_path / "state").mkdir(mode=0o700)
    pool = open_pool(pg_dsn, max_size=2)
    former = Lease(pool, ttl_s=30.0, holder="node-a")
    sock = NotifySocket(tmp_path / "notify")
    stop = threading.Event()
    result: list[int] = []
    lost: list[str] = []
    try:
        assert former.try_acquire() == 1
        with psycopg.connect(pg_dsn, autocommit=True) as conn:  # expired, holder kept
            conn.execute("UPDATE lsync_lease SET expires_at = now() - interval '1 second'")
        worker = threading.Thread(target=lambda: result.append(run_failover(
            config, stop, Notifier(str(sock.path)), lambda *a: 7, on_lost=lost.append)))
        worker.start()
        role_file = tmp_path / "state" / "role"
        wait_until(lambda: role_file.exists() and " taking-over " in role_file.read_text(),
                   30.0, what="the takeover wait")
        stop.set()
        worker.join(30.0)
        assert not worker.is_alive()
        state = former.state()
    finally:
        stop.set()
        sock.close()
        pool.close()
    assert result == [0]
    assert lost == []
    assert state is not None
    assert state.epoch == 2
    assert state.holder not in ("", "node-a")  # released keeping this taker's name
    assert state.expires_at <= state.db_now  # released, not left to expire
