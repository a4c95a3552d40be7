"""``status --config FILE`` on the PostgreSQL inbox: this node's role and the lease.

The lease row says who is active (``host:pid:tag``), at which epoch and until when (the
database's clock). This node is *active* when its running daemon (the state directory's lock
holder) is that holder, *standby* when a daemon runs here but does not hold the lease, and
*stopped* when none runs. The lease row cannot tell an active still in its takeover wait
(writing nothing to Salesforce yet) from one past it: the daemon notes its role in
``STATE/role`` (service.failover_run.note_role), and *taking-over* shows from there.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from service.config import Config
from service.failover import ROLE_FILE
from service.inbox_backend import missing_extra
from subscriber.errors import Fatal, InboxFailed
from subscriber.inbox_api import InboxReader


def role_of(holder: str, held: bool, daemon_pid: int | None, noted: str = "",
            noted_holder: str = "") -> str:
    """``noted`` / ``noted_holder``: the role and lease holder ID the running daemon wrote in
    ``STATE/role``. With the holder ID (and its random tag) known, the lease is this daemon's
    only when the IDs match: a restarted daemon that reused a crashed holder's PID (PID 1 in
    a container) is not shown as holding the dead one's lease. Without it, host and PID."""
    if daemon_pid is None:
        return "stopped"
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    mine = (holder == noted_holder if noted_holder
            else host == socket.gethostname() and pid == str(daemon_pid))
    if not (held and mine):
        return "standby"
    return "taking-over" if noted == "taking-over" else "active"


def noted_role(state_dir: Path, daemon_pid: int | None) -> tuple[str, str]:
    """The role and lease holder ID the daemon ``daemon_pid`` last noted in ``STATE/role``
    (each "" if none; a file written before the holder was noted has no holder)."""
    try:
        pid, name, holder = [*(state_dir / ROLE_FILE).read_text().split(), "", "", ""][:3]
    except OSError:
        return "", ""
    return (name, holder) if pid == str(daemon_pid) else ("", "")


def failover_report(config: Config, daemon_pid: int | None) -> dict[str, Any]:
    """Role, holder, epoch and expiry, read from the lease row."""
    try:
        import psycopg
    except ImportError as exc:
        raise InboxFailed(missing_extra(exc)) from None

    from subscriber.pg_connect import normalised_dsn, where
    from subscriber.pg_lease import LEASE_NAME

    try:
        with psycopg.connect(normalised_dsn(config.inbox.dsn), connect_timeout=10) as conn:
            row = conn.execute("SELECT holder, epoch, expires_at, now() FROM lsync_lease "
                               "WHERE name = %s", (LEASE_NAME,)).fetchone()
    except psycopg.Error as exc:
        raise InboxFailed(f"cannot read the lease at {where(config.inbox.dsn)}: "
                          f"{type(exc).__name__}") from None
    if row is None:
        return {"role": role_of("", False, daemon_pid), "holder": None, "epoch": 0,
                "expires_at": None, "held": False}
    holder, epoch, expires_at, now = row
    held = bool(holder) and expires_at > now
    noted, noted_holder = noted_role(config.service.state_dir, daemon_pid)
    role = role_of(str(holder), held, daemon_pid, noted, noted_holder)
    return {"role": role, "holder": holder or None,
            "epoch": int(epoch), "expires_at": expires_at.isoformat(timespec="seconds"),
            "held": held, "expires_in_s": round((expires_at - now).total_seconds(), 1)
            if held else None, "database": where(config.inbox.dsn)}


@contextlib.contextmanager
def pg_reader(config: Config) -> Iterator[InboxReader]:
    """The shared inbox for reading (a small pool, closed afterwards)."""
    try:
        from subscriber.inbox_pg import open_pg_inbox
    except ImportError as exc:
        raise InboxFailed(missing_extra(exc)) from None
    try:
        inbox = open_pg_inbox(config.inbox.dsn, pool_size=1)
    except Fatal as exc:
        raise InboxFailed(str(exc)) from None
    with inbox:
        yield inbox


def render_failover(report: dict[str, Any] | None) -> list[str]:
    if not report:
        return []
    if not report.get("holder"):
        return [f"role: {report['role']}; the lease was never taken"]
    state = (f"expires {report['expires_at']} (in {report['expires_in_s']:.0f} s)"
             if report["held"] else f"EXPIRED at {report['expires_at']}")
    return [f"role: {report['role']}; lease held by {report['holder']} at epoch "
            f"{report['epoch']}, {state}"]
