"""``[inbox]`` with the PostgreSQL backend: a DSN never carries a password (in any of libpq's
forms), and shadow mode is refused there (it would share the live pair's inbox)."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.config import ConfigError, load_config

TOML = """
[service]
state_dir = "st"
mode = "{mode}"
[auth]
mode = "static_token"
instance_url = "https://127.0.0.1:9"
tenant_id = "00D"
[inbox]
backend = "postgres"
dsn = "{dsn}"
"""
ENV = {"LIFECYCLE_SYNC_AUTH_ACCESS_TOKEN": "t"}


def _problems(tmp_path: Path, dsn: str, mode: str = "live") -> list[str]:
    path = tmp_path / "sync.toml"
    path.write_text(TOML.replace("{dsn}", dsn).replace("{mode}", mode))
    try:
        load_config(path, ENV)
    except ConfigError as exc:
        return exc.problems
    return []


@pytest.mark.parametrize("dsn", [
    "postgresql://sync:hunter2@db1/sync",
    "postgresql://sync@db1/sync?password=hunter2",
    "postgres://db1/sync?sslmode=require&password=hunter2",
    "host=db1 dbname=sync password=hunter2",
    "host=db1 dbname=sync password = 'hunter2'",
    "host=db1  PASSWORD=hunter2",
])
def test_a_password_in_any_libpq_form_is_refused_without_echoing_it(
        tmp_path: Path, dsn: str) -> None:
    problems = _problems(tmp_path, dsn)
    if dsn.endswith("PASSWORD=hunter2"):  # libpq keywords are case-sensitive: not a password
        assert problems == ["inbox.dsn: not a libpq connection string (\"key=value ...\" "
                            "pairs or a postgresql:// URI)"]
        return
    assert len(problems) == 1, problems
    assert problems[0].startswith("inbox.dsn: holds a password")
    for way in ("PGPASSFILE", "passfile=", "PGPASSWORD", "EnvironmentFile="):
        assert way in problems[0]
    assert "hunter2" not in " ".join(problems)


@pytest.mark.parametrize("dsn", [
    "host=db1 dbname=sync sslcert=/etc/c.crt sslkey=/etc/c.key sslpassword=hunter2",
    "postgresql://sync@db1/sync?sslkey=/etc/c.key&sslpassword=hunter2",
])
def test_the_client_keys_passphrase_is_refused_without_echoing_it(
        tmp_path: Path, dsn: str) -> None:
    problems = _problems(tmp_path, dsn)
    assert len(problems) == 1, problems
    assert problems[0].startswith("inbox.dsn: holds sslpassword")
    assert "hunter2" not in " ".join(problems)


@pytest.mark.parametrize("dsn", [
    "host=db1,db2 dbname=sync user=sync target_session_attrs=read-write",
    "postgresql://sync@db1,db2/sync?target_session_attrs=read-write&passfile=/etc/pgpass",
    "host=db1 dbname=password user=password",
])
def test_a_password_free_dsn_is_accepted(tmp_path: Path, dsn: str) -> None:
    assert _problems(tmp_path, dsn) == []


def test_shadow_mode_on_postgres_is_refused_and_says_what_to_run_instead(
        tmp_path: Path) -> None:
    problems = _problems(tmp_path, "host=db1 dbname=sync", mode="shadow")
    assert len(problems) == 1, problems
    assert problems[0].startswith("service.mode: \"shadow\" is refused with inbox.backend")
    assert "inbox.backend = \"sqlite\"" in problems[0]


def test_shadow_mode_on_sqlite_is_still_accepted(tmp_path: Path) -> None:
    path = tmp_path / "sync.toml"
    path.write_text(TOML.replace('backend = "postgres"', 'backend = "sqlite"')
                    .replace('dsn = "{dsn}"\n', "").replace("{mode}", "shadow"))
    assert load_config(path, ENV).service.mode == "shadow"
