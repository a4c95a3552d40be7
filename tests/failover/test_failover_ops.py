"""Operating a pair: `db upgrade`, `run` refusing an old schema, `status --config`, and the
role on /metrics and /readyz."""

from __future__ import annotations

import json
import re
from pathlib import Path

from helpers.children import run_cli
from helpers.http_get import http_get as _get
from helpers.ports import refused_port
from pair_rig import Pair, active_and_standby, wait_until

from subscriber.pg_schema import LATEST_VERSION


def config_file(tmp_path: Path, dsn: str, state: str = "state-a") -> Path:
    path = tmp_path / "sync.toml"
    path.write_text(
        f'[service]\nstate_dir = "{state}"\n'
        '[auth]\nmode = "static_token"\ninstance_url = "https://127.0.0.1:9"\n'
        'tenant_id = "00Dxx0000000001"\n'
        f'[inbox]\nbackend = "postgres"\ndsn = "{dsn}"\n')
    return path


TOKEN = {"LIFECYCLE_SYNC_AUTH_ACCESS_TOKEN": "not-used"}


def test_db_upgrade_creates_the_schema_run_refuses_before_it(pg_dsn: str, tmp_path: Path
                                                             ) -> None:
    cfg = config_file(tmp_path, pg_dsn)
    refused = run_cli("run", "--config", str(cfg), env=TOKEN)
    assert refused.returncode == 78, refused.stderr
    assert "schema version 0" in refused.stderr
    assert "lifecycle-sync db upgrade" in refused.stderr
    first = run_cli("db", "upgrade", "--config", str(cfg), env=TOKEN)
    assert first.returncode == 0, first.stderr
    assert f"upgraded from version 0 to {LATEST_VERSION}" in first.stdout
    again = run_cli("db", "upgrade", "--config", str(cfg), env=TOKEN)
    assert f"already at version {LATEST_VERSION}" in again.stdout
    version = run_cli("db", "version", "--config", str(cfg), env=TOKEN)
    assert f"schema version {LATEST_VERSION}" in version.stdout


def test_db_upgrade_says_when_postgresql_is_unreachable(tmp_path: Path) -> None:
    with refused_port() as port:  # held, so nothing can start answering on it meanwhile
        cfg = config_file(tmp_path, f"host=127.0.0.1 port={port} dbname=x user=x")
        done = run_cli("db", "upgrade", "--config", str(cfg), env=TOKEN)
    assert done.returncode == 69
    assert f"cannot reach the PostgreSQL inbox at 127.0.0.1:{port}/x" in done.stderr


def test_a_dsn_with_a_password_is_refused(tmp_path: Path) -> None:
    cfg = config_file(tmp_path, "postgresql://u:secret@db/x")
    done = run_cli("db", "upgrade", "--config", str(cfg), env=TOKEN)
    assert done.returncode == 78
    assert "inbox.dsn: holds a password" in done.stderr
    assert "secret" not in done.stderr.replace("secrets", "")


def test_role_on_metrics_readyz_and_status(pair: Pair, tmp_path: Path, held_port: int) -> None:
    a, b = active_and_standby(pair)
    b_port = held_port
    b.stop_quietly()
    b.wait(30)
    b = pair.daemon("b", LIFECYCLE_SYNC_METRICS_PORT=str(b_port))
    wait_until(lambda: _get(b_port, "/readyz")[0] == 503, 60, 0.1, "b's /readyz")
    body = _get(b_port, "/readyz")[1]
    assert body.startswith("standby: lease held by ")
    assert f":{a.pid}:" in body
    metrics = _get(b_port, "/metrics")[1]
    assert 'lifecycle_sync_role{role="standby"} 1.0' in metrics
    assert 'lifecycle_sync_role{role="active"} 0.0' in metrics
    assert "lifecycle_sync_lease_epoch 0.0" in metrics

    cfg = config_file(tmp_path, pair.dsn, state=str(tmp_path / "state-a"))
    status = run_cli("status", "--config", str(cfg), "--json", env=TOKEN)
    assert status.returncode == 0, status.stderr
    full = json.loads(status.stdout)
    assert full["jobs"]["retention"]["next_run"], "the active's schedule, from PostgreSQL"
    report = full["failover"]
    assert (report["role"], report["epoch"], report["held"]) == ("active", 1, True)
    assert report["holder"].split(":")[1] == str(a.pid)
    text = run_cli("status", "--config", str(cfg), env=TOKEN).stdout
    assert re.search(r"role: active; lease held by \S+ at epoch 1, expires \S+ \(in \d+ s\)",
                     text), text
    cfg_b = config_file(tmp_path, pair.dsn, state=str(tmp_path / "state-b"))
    assert json.loads(run_cli("status", "--config", str(cfg_b), "--json",
                              env=TOKEN).stdout)["failover"]["role"] == "standby"

    a.kill()
    wait_until(lambda: 'lifecycle_sync_role{role="active"} 1.0' in (
        scrape := _get(b_port, "/metrics")[1]) and "lifecycle_sync_lease_epoch 2.0" in scrape,
        60, 0.1, "b active at epoch 2 on /metrics")


def test_replay_and_jobs_run_take_the_lease_so_they_wait_for_no_active_node(
        pair: Pair) -> None:
    from subscriber.inbox_pg import open_pg_inbox

    a = pair.daemon("a")
    wait_until(lambda: pair.lease() == (a.pid, 1), 60, 0.1, "a active")
    env = {"LIFECYCLE_SYNC_INBOX_BACKEND": "postgres", "LIFECYCLE_SYNC_INBOX_DSN": pair.dsn}
    source = ("--emulator-info", str(pair.info_file), "--state", str(pair.work / "state-c"))
    topic = "/event/SelfServeTrialEvent__e"
    replay = ("replay", *source, "--topic", topic, "--from", "latest", "--yes")
    busy = run_cli(*replay, env=env)
    assert busy.returncode == 75, busy.stderr
    assert "a daemon is active on the PostgreSQL inbox" in busy.stderr
    job = run_cli("jobs", "run", "retention", *source, env=env)
    assert job.returncode == 75, job.stderr
    assert a.terminate() == 0
    moved = run_cli(*replay, env=env)
    assert moved.returncode == 0, moved.stderr
    with open_pg_inbox(pair.dsn, pool_size=1) as inbox:
        jump = inbox.pending_jump(topic)
    assert jump is not None
    assert jump.to == "replay-latest"
    ran = run_cli("jobs", "run", "retention", *source, env=env)
    assert ran.returncode == 0, ran.stderr
    assert pair.query("SELECT job, result, epoch FROM lsync_job_runs") == [
        ("retention", "ok", 3)], "recorded under the lease the command took (epochs 2 and 3)"
    assert pair.lease()[0] is None, "released afterwards"
    listed = json.loads(run_cli("jobs", "list", *source, "--json", env=env).stdout)["jobs"]
    assert [j["result"] for j in listed if j["job"] == "retention"] == ["ok"]
