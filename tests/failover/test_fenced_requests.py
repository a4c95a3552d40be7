"""Every Salesforce request of the active (apply and jobs alike) starts only while its lease is
trusted: checked per HTTP request, so neither a later chunk nor a retry of a call that began
in the trust window goes out after it closed. Against the emulator over HTTPS, calls counted
with its counters; the lease on a real PostgreSQL, its trust window on a clock the test moves
(a process paused past its lease, e.g. by SIGSTOP, wakes up with that clock jumped)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from psycopg_pool import ConnectionPool

from emulator.server import Emulator
from handlers.gateway_api import Gateway
from service.apply_wiring import apply_loop
from service.config import Config
from service.connections import session_provider
from service.jobs_wiring import job_functions, open_runs
from service.run_cmd import config_from_emulator_info
from subscriber.errors import LeaseLost
from subscriber.inbox_pg import PgInbox
from subscriber.pg_connect import open_pool
from subscriber.pg_lease import Lease

NOW = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
PAST_THE_LEASE_S = 3600.0


class Ticks:
    """The lease's monotonic clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def pause(self, *_: Any) -> None:
        """As if the process was frozen past its lease (usable as a response hook)."""
        self.now += PAST_THE_LEASE_S


@pytest.fixture
def pool(upgraded_dsn: str) -> Iterator[ConnectionPool]:
    pool = open_pool(upgraded_dsn, max_size=4)
    yield pool
    pool.close()


@pytest.fixture
def org(emulator: Emulator) -> Iterator[Any]:
    org = emulator.context.org
    assert org is not None
    yield org
    org.faults.clear()


@pytest.fixture
def config(emulator: Emulator, tmp_path: Path) -> Config:
    info = tmp_path / "info.json"
    emulator.write_info(info)
    (tmp_path / "state").mkdir()
    return config_from_emulator_info(info, tmp_path / "state", "auto", {})


def calls(org: Any) -> int:
    return int(org.counters.snapshot()["total"])


def fenced(pool: ConnectionPool) -> tuple[Lease, Ticks]:
    ticks = Ticks()
    lease = Lease(pool, ttl_s=30, holder="a", monotonic=ticks)
    assert lease.try_acquire() == 1
    return lease, ticks


def apply_gateway(config: Config, pool: ConnectionPool, lease: Lease) -> Gateway:
    """The apply loop's first gateway, wired as the daemon wires it on PostgreSQL."""
    inbox = PgInbox(pool, where="test", fence=lease, owns_pool=False)
    loop = apply_loop(config, session_provider(config), inbox, lease=lease)
    return loop._gateways[0]


def test_a_later_chunk_does_not_start_once_the_lease_is_no_longer_trusted(
        config: Config, pool: ConnectionPool, org: Any) -> None:
    lease, ticks = fenced(pool)
    gateway = apply_gateway(config, pool, lease)
    gateway._client.on_response(ticks.pause)  # type: ignore[attr-defined]
    tasks = [{"Subject": f"fence chunk {i}"} for i in range(201)]  # two Collections calls
    before = calls(org)
    with pytest.raises(LeaseLost, match="no longer trusts"):
        gateway.create_tasks(tasks)
    assert calls(org) - before == 1, "the second chunk went out after the trust window"


def test_a_retry_does_not_start_once_the_lease_is_no_longer_trusted(
        config: Config, pool: ConnectionPool, org: Any) -> None:
    lease, ticks = fenced(pool)
    gateway = apply_gateway(config, pool, lease)
    gateway._client.on_response(ticks.pause)  # type: ignore[attr-defined]
    org.faults.arm_preset("server_error", kind="composite", times=1)
    before = calls(org)
    with pytest.raises(LeaseLost):
        gateway.write({"fence-retry": {"Name": "Workspace fence-retry"}}, {})
    assert calls(org) - before == 1, "the retry went out after the trust window"


def test_the_jobs_call_salesforce_only_while_the_lease_is_trusted(
        config: Config, pool: ConnectionPool, org: Any) -> None:
    lease, ticks = fenced(pool)
    inbox = PgInbox(pool, where="test", fence=lease, owns_pool=False)
    runs = open_runs(config.service.state_dir, inbox)
    jobs = job_functions(config, session_provider(config), inbox, runs)
    before = calls(org)
    jobs["trial-alerts"](NOW)
    assert calls(org) > before, "trusted: the job does call Salesforce"
    ticks.pause()
    before = calls(org)
    idle = {"reconcile-gaps"}  # no replay gap recorded: it reads only the local inbox
    for name, job in jobs.items():
        if name in idle:
            job(NOW)
        else:
            with pytest.raises(LeaseLost):
                job(NOW)
        assert calls(org) == before, f"{name} called Salesforce without a trusted lease"
    runs.close()


def test_the_takeover_wait_covers_the_longest_request_of_every_fenced_client(
        emulator: Emulator, tmp_path: Path, pool: ConnectionPool) -> None:
    """Each attempt starts inside the trust window (which ends before the lease expires) and
    lasts at most its connect + read timeout, so TTL + that bounds the last one's end."""
    from service.failover_run import failover_settings
    from service.jobs_wiring import client

    info = tmp_path / "info.json"
    emulator.write_info(info)
    cfg = config_from_emulator_info(info, tmp_path / "s", "auto", {
        "LIFECYCLE_SYNC_APPLY_READ_TIMEOUT_S": "50", "LIFECYCLE_SYNC_INBOX_LEASE_TTL_S": "15"})
    lease, _ = fenced(pool)
    inbox = PgInbox(pool, where="test", fence=lease, owns_pool=False)
    gateway = apply_gateway(cfg, pool, lease)
    clients = [gateway._client, client(cfg, session_provider(cfg), inbox)]  # type: ignore[attr-defined]
    assert failover_settings(cfg).takeover_wait_s == 15 + 10 + 50
    for each in clients:
        assert 15 + sum(each.timeout) == failover_settings(cfg).takeover_wait_s
