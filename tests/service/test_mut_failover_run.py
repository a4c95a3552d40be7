"""The failover role on ``/metrics``: one ``lifecycle_sync_role`` series per role with 1 for
the current one, and the lease epoch (0 without a lease). Mutation testing found the
no-lease epoch unpinned (prometheus-client's exposition, parsed as a scraper would)."""

from __future__ import annotations

import logging
import os

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from service.failover import Role
from service.failover_run import EXIT_LEASE_LOST, RoleCollector, _exit_now


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
