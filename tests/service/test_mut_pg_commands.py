"""``db`` and ``status --config`` on the PostgreSQL inbox, in process against a real
PostgreSQL server: what an operator reads when the database is unreachable, and the role of
a node before any daemon took the lease (mutation testing found both unpinned)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers.ports import refused_port

from service.cli import main
from service.config import load_config
from service.status_failover import failover_report, render_failover
from subscriber.pg_schema import LATEST_VERSION


def config_file(tmp_path: Path, dsn: str) -> Path:
    path = tmp_path / "sync.toml"
    path.write_text(
        '[service]\nstate_dir = "state"\n'
        '[auth]\nmode = "static_token"\ninstance_url = "https://127.0.0.1:9"\n'
        'tenant_id = "00Dxx0000000001"\n'
        f'[inbox]\nbackend = "postgres"\ndsn = "{dsn}"\n')
    return path


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("LIFECYCLE_SYNC_AUTH_ACCESS_TOKEN", "not-used")
    return {"LIFECYCLE_SYNC_AUTH_ACCESS_TOKEN": "not-used"}


def test_db_upgrade_names_the_unreachable_database_and_libpqs_reason(
        tmp_path: Path, token: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    with refused_port() as port:
        cfg = config_file(tmp_path, f"host=127.0.0.1 port={port} dbname=x user=x")
        code = main(["db", "upgrade", "--config", str(cfg)])
    out = capsys.readouterr()
    assert code == 69
    assert out.out == ""
    assert re.fullmatch(rf"lifecycle-sync: cannot reach the PostgreSQL inbox at "
                        rf"127\.0\.0\.1:{port}/x: OperationalError: .*{port}.*\n", out.err), \
        out.err


def test_status_before_any_daemon_took_the_lease_says_stopped_and_never_taken(
        pg_dsn: str, tmp_path: Path, token: dict[str, str],
        capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config_file(tmp_path, pg_dsn)
    assert main(["db", "upgrade", "--config", str(cfg)]) == 0
    assert capsys.readouterr().out.endswith(
        f"schema upgraded from version 0 to {LATEST_VERSION}\n")
    report = failover_report(load_config(cfg, token), None)
    assert report == {"role": "stopped", "holder": None, "epoch": 0, "expires_at": None,
                      "held": False}
    assert render_failover(report) == ["role: stopped; the lease was never taken"]
    (tmp_path / "state").mkdir(mode=0o700)
    assert main(["status", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "role: stopped; the lease was never taken"


def test_a_held_lease_shows_its_expiry_and_an_expired_one_says_so() -> None:
    held = {"role": "standby", "holder": "node-b:41:x", "epoch": 7, "held": True,
            "expires_at": "2026-11-30T09:00:30+00:00", "expires_in_s": 29.6}
    assert render_failover(held) == [
        "role: standby; lease held by node-b:41:x at epoch 7, expires "
        "2026-11-30T09:00:30+00:00 (in 30 s)"]
    assert render_failover({**held, "held": False, "role": "stopped"}) == [
        "role: stopped; lease held by node-b:41:x at epoch 7, EXPIRED at "
        "2026-11-30T09:00:30+00:00"]
    assert render_failover(None) == []
