"""Connecting to the PostgreSQL inbox: the pool, the printable location, the pooler check.

The DSN is libpq's (``host=a,b port=5432,5432 dbname=sync target_session_attrs=read-write`` or
``postgresql://a:5432,b:5432/sync?target_session_attrs=read-write``): with several hosts libpq
tries them in order and keeps the one that accepts writes, so after a PostgreSQL failover a
reconnect finds the new primary. We add ``target_session_attrs=read-write`` when the DSN names
several hosts and says nothing, since a standby server would refuse every write. Passwords
belong in a ``passfile`` (``~/.pgpass`` or ``PGPASSFILE``), never in the TOML.

A transaction-mode pooler (PgBouncer ``pool_mode = transaction``) hands each transaction to
whichever server connection is free, so session guarantees (prepared statements, session
settings) break. The lease itself never relies on the session, but we refuse to run behind
one anyway, with a clear message: :func:`transaction_pooled` detects it by asking two client
connections for their server process ID, alternately: without such a pooler each client keeps
its own backend for life, so the IDs are stable and distinct; behind one they move or coincide.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import ConnectionPool

from subscriber.errors import Fatal

PROBE_ROUNDS = 4

# A connection refused on account of the configuration (credentials, names, pg_hba, rights): a
# retry cannot help, so the daemon exits 78. Anything else (refused, timed out, an unresolvable
# name, "starting up", "too many clients", only read-only servers) may pass: the daemon waits
# as standby and keeps trying. An error with an SQLSTATE is judged by it (the server's
# language does not matter): class 28 (invalid authorization: 28000, 28P01), 3D000 (no such
# database), 42501 (insufficient privilege).
CONFIG_SQLSTATES = frozenset({"28000", "28P01", "3D000", "42501"})
# libpq's own words, for errors without an SQLSTATE: client-side ones, and the start-up
# failures psycopg reports with the server's message only (in the server's language: with
# lc_messages other than English a config error reads as transient, which is the safe side: a
# standby that logs the server's message every try).
CONFIG_ERRORS = ("authentication failed", "no pg_hba.conf entry", "does not exist",
                 "no password supplied", "password is required", "permission denied",
                 "invalid connection option", "invalid sslmode value")


class Unreachable(Fatal):
    """PostgreSQL did not accept a connection for a reason that may pass. A command ends with
    the message (as for any :class:`Fatal`); the daemon waits as standby and tries again."""


def normalised_dsn(dsn: str) -> str:
    """``dsn`` with ``target_session_attrs=read-write`` when it lists several hosts."""
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        raise Fatal(f"inbox.dsn is not a valid PostgreSQL connection string: {exc}") from None
    if "," in str(parts.get("host", "")) and "target_session_attrs" not in parts:
        return make_conninfo(dsn, target_session_attrs="read-write")
    return dsn


def where(dsn: str) -> str:
    """host:port/dbname for messages and status (never user secrets)."""
    parts = conninfo_to_dict(dsn)
    hosts = str(parts.get("host") or parts.get("hostaddr") or "localhost")
    port = str(parts.get("port") or "5432")
    return f"{hosts}:{port}/{parts.get('dbname') or parts.get('user') or ''}"


def open_pool(dsn: str, *, max_size: int = 8, timeout_s: float = 10.0,
              idle_in_transaction_s: float | None = None) -> ConnectionPool:
    """An opened pool; ``check`` tests a connection before lending it (a restarted server's
    dead connections are replaced, not handed out).

    ``idle_in_transaction_s``: the server ends any of our sessions that sits inside a
    transaction this long. A daemon frozen mid-transaction (SIGSTOP, a VM pause) would
    otherwise keep its share lock on the lease row, and no standby could take the lease until
    it woke up; with the timeout, the server rolls that transaction back and frees the lock."""
    pool = ConnectionPool(normalised_dsn(dsn), min_size=1, max_size=max_size, open=False,
                          timeout=timeout_s, check=ConnectionPool.check_connection,
                          kwargs=tcp_settings(dsn, timeout_s, idle_in_transaction_s),
                          configure=_session_settings(idle_in_transaction_s),
                          name="lsync-inbox")
    probe(dsn, timeout_s)  # the pool would only say "PoolTimeout", not why
    try:
        pool.open(wait=True, timeout=timeout_s)
    except psycopg.Error as exc:  # PoolTimeout included
        pool.close()
        raise connect_failure(dsn, exc) from None
    return pool


def probe(dsn: str, timeout_s: float = 10.0) -> None:
    """Connect once; :func:`connect_failure` when that fails."""
    try:
        with psycopg.connect(normalised_dsn(dsn), autocommit=True,
                             connect_timeout=max(1, int(timeout_s))):
            return
    except psycopg.Error as exc:
        raise connect_failure(dsn, exc) from None


def connect_failure(dsn: str, exc: psycopg.Error) -> Fatal:
    """A failed connection as :class:`Fatal` (the configuration: :func:`config_error`) or
    :class:`Unreachable` (anything that may pass)."""
    text = " ".join(str(exc).split())  # libpq's message: host, port, user; no password
    message = (f"cannot connect to the PostgreSQL inbox at {where(dsn)}: "
               f"{type(exc).__name__}: {text}")
    if config_error(exc.sqlstate, text):
        return Fatal(message)
    return Unreachable(message)


def config_error(sqlstate: str | None, text: str) -> bool:
    """Whether a failed connection is the configuration's fault (see :data:`CONFIG_SQLSTATES`)."""
    if sqlstate:
        return sqlstate in CONFIG_SQLSTATES or sqlstate.startswith("28")
    return any(marker in text for marker in CONFIG_ERRORS)


def tcp_settings(dsn: str, timeout_s: float, lease_ttl_s: float | None) -> dict[str, Any]:
    """libpq's TCP timeouts, so a dead or black-holed server breaks our connections instead of
    blocking them for the kernel's defaults (minutes to hours): ``connect_timeout``;
    keepalives probing an idle connection; ``tcp_user_timeout`` dropping one whose sent data
    stays unacknowledged. Scaled to a third of the lease TTL (a renewal's period), so a
    renewal on a dead connection fails in time for the next one to try a fresh connection.
    What the DSN sets itself is kept. (The lease keeper's deadline steps down regardless: a
    middlebox can acknowledge and forward nothing, which no TCP timeout notices.)"""
    third_s = max(1, int((lease_ttl_s or 30.0) / 3))
    wanted: dict[str, Any] = {
        "connect_timeout": max(1, int(timeout_s)), "keepalives": 1,
        "keepalives_idle": third_s, "keepalives_interval": 1, "keepalives_count": 3,
        "tcp_user_timeout": third_s * 1000}
    given = conninfo_to_dict(dsn)
    return {key: value for key, value in wanted.items() if key not in given}


def _session_settings(idle_in_transaction_s: float | None
                      ) -> Callable[[psycopg.Connection[Any]], None] | None:
    if idle_in_transaction_s is None:
        return None
    millis = str(max(1, int(idle_in_transaction_s * 1000)))

    def configure(conn: psycopg.Connection[Any]) -> None:
        conn.execute("SELECT set_config('idle_in_transaction_session_timeout', %s, false)",
                     (millis,))
        conn.commit()

    return configure


def transaction_pooled(dsn: str) -> bool:
    """True when a pooler in transaction (or statement) mode sits between us and PostgreSQL.
    A failure to connect raises :func:`connect_failure`'s error."""
    try:
        with psycopg.connect(normalised_dsn(dsn), autocommit=True, connect_timeout=10) as one, \
                psycopg.connect(normalised_dsn(dsn), autocommit=True, connect_timeout=10) as two:
            seen = [(_backend(one), _backend(two)) for _ in range(PROBE_ROUNDS)]
    except psycopg.OperationalError as exc:
        raise connect_failure(dsn, exc) from None
    return pooled_by_transaction(seen)


def pooled_by_transaction(seen: list[tuple[int, int]]) -> bool:
    """The decision of :func:`transaction_pooled` on the (first, second) backend IDs seen."""
    firsts = {a for a, _ in seen}
    seconds = {b for _, b in seen}
    return len(firsts) != 1 or len(seconds) != 1 or firsts == seconds


def refuse_transaction_pooler(dsn: str) -> None:
    """Raise :class:`Fatal` when :func:`transaction_pooled` says so."""
    if transaction_pooled(dsn):
        raise Fatal(
            f"the PostgreSQL inbox at {where(dsn)} is reached through a pooler in transaction "
            "(or statement) mode: one client connection does not keep one server session, so "
            "session guarantees break. Point inbox.dsn at PostgreSQL itself, or at a pooler "
            "in session mode (PgBouncer pool_mode = session)")


def _backend(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT pg_backend_pid()").fetchone()
    return int(row[0]) if row else 0
