"""A real PgBouncer in front of the throwaway PostgreSQL: transaction mode is refused with a
clear message, session mode is accepted (skipped when PgBouncer is not installed)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from helpers.postgres import PgServer, free_port
from pair_rig import wait_until

from subscriber.errors import Fatal
from subscriber.pg_connect import refuse_transaction_pooler, transaction_pooled

PGBOUNCER = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer"
                                          if Path("/usr/sbin/pgbouncer").exists() else None)
pytestmark = pytest.mark.skipif(PGBOUNCER is None, reason="PgBouncer is not installed")


@pytest.fixture(params=["transaction", "session"])
def bouncer(request: pytest.FixtureRequest, pg_server: PgServer) -> Iterator[tuple[str, str]]:
    """(pool mode, DSN through PgBouncer in that mode)."""
    work = Path(tempfile.mkdtemp(prefix="lsync-pgb-"))
    port = free_port()
    (work / "users.txt").write_text('"postgres" ""\n')
    (work / "pgbouncer.ini").write_text(
        f"[databases]\npostgres = host=127.0.0.1 port={pg_server.port} dbname=postgres\n"
        f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nauth_type = trust\n"
        f"auth_file = {work / 'users.txt'}\npool_mode = {request.param}\n"
        "unix_socket_dir =\nmax_client_conn = 20\ndefault_pool_size = 5\n")
    command = [str(PGBOUNCER), str(work / "pgbouncer.ini")]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        user = pwd.getpwnam("postgres")
        for path in (work, *work.iterdir()):
            os.chown(path, user.pw_uid, user.pw_gid)
        command = ["runuser", "-u", "postgres", "--", *command]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dsn = f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
    try:
        wait_until(lambda: _answers(dsn) or proc.poll() is not None, 30, 0.1, "PgBouncer up")
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        yield request.param, dsn
    finally:
        proc.terminate()
        proc.communicate(timeout=10)  # also closes the stderr pipe
        shutil.rmtree(work, ignore_errors=True)


def _answers(dsn: str) -> bool:
    try:
        with psycopg.connect(dsn, connect_timeout=2, autocommit=True) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def test_transaction_mode_is_refused_and_session_mode_accepted(bouncer: tuple[str, str]
                                                               ) -> None:
    mode, dsn = bouncer
    assert transaction_pooled(dsn) is (mode == "transaction")
    if mode == "transaction":
        with pytest.raises(Fatal, match=r"pooler in transaction .* session mode") as refused:
            refuse_transaction_pooler(dsn)
        assert str(refused.value).endswith(  # the way out, word for word
            "Point inbox.dsn at PostgreSQL itself, or at a pooler in session mode "
            "(PgBouncer pool_mode = session)")
    else:
        refuse_transaction_pooler(dsn)
