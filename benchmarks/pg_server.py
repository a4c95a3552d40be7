"""A throwaway PostgreSQL server for the tests and benchmarks, from the installed binaries.

One server per test session (``initdb`` + ``pg_ctl start`` in a temporary data directory, on a
free port, TCP on 127.0.0.1 only, trust authentication); each test gets its own schema
(``search_path`` in the DSN), which is far cheaper than a database or a server per test.

``initdb`` refuses to run as root, so under root the server runs as the ``postgres`` user
(``runuser``), with a data directory that user owns. The binaries are looked up in
``LIFECYCLE_SYNC_PG_BIN``, then ``/usr/lib/postgresql/<newest>/bin``, then ``pg_config
--bindir``, then ``PATH``. When none is found the tests that need PostgreSQL are skipped, with
the reason; when the binaries are there but the server does not start, that is a failure.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

BIN_ENV = "LIFECYCLE_SYNC_PG_BIN"
START_TIMEOUT_S = 60


def find_bindir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` are, or None."""
    candidates: list[Path] = []
    if os.environ.get(BIN_ENV):
        candidates.append(Path(os.environ[BIN_ENV]))
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                      key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    candidates.extend(reversed(versions))
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True,
                             check=True, timeout=10).stdout.strip()
        candidates.append(Path(out))
    found = shutil.which("initdb")
    if found:
        candidates.append(Path(found).parent)
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    """One PostgreSQL server in a temporary data directory; :meth:`stop` removes it."""

    def __init__(self, bindir: Path, *, durable: bool = False) -> None:
        """``durable``: fsync on (the benchmarks compare with SQLite's synchronous=FULL);
        off by default: the tests need correctness, not durability across a power loss."""
        self.bindir = bindir
        self.durable = durable
        self.root = Path(tempfile.mkdtemp(prefix="lsync-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self.running = False

    def _run(self, *args: str, timeout_s: float = START_TIMEOUT_S) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s,
                              env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                                   "LANG": "C.UTF-8"}, cwd=self.root, check=False)
        if done.returncode:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed ({done.returncode}): "
                               f"{done.stderr.strip()}\n{log[-2000:]}")

    def start(self) -> PgServer:
        if not self.data.exists():
            self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                      "-E", "UTF8", "--no-sync")
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   "-c max_connections=200")
        if not self.durable:
            options += " -c fsync=off -c full_page_writes=off"
        self._run("pg_ctl", "start", "-w", "-t", str(START_TIMEOUT_S), "-D", str(self.data),
                  "-l", str(self.log), "-o", options)
        self.running = True
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``immediate``: like a crash; the data directory stays)."""
        if self.running:
            self._run("pg_ctl", "stop", "-w", "-m", mode, "-D", str(self.data))
            self.running = False

    def destroy(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def dsn(self, schema: str | None = None) -> str:
        base = f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"
        return base if schema is None else f"{base} options='-c search_path={schema}'"

    def new_schema(self) -> str:
        """A DSN whose tables land in a fresh, empty schema of their own."""
        import psycopg

        schema = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        return self.dsn(schema)
