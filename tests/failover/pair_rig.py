"""Two daemons (two nodes, each its own state directory) on one PostgreSQL and one emulator.

Every wait polls a condition against a deadline; the lease row and the inbox rows are read
straight from PostgreSQL, so what the test sees is what a third party would see.
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from helpers.children import module_argv

from benchmarks.rig import Daemon, NotifySocket, Publisher

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
from svc_waiting import wait_until  # the suite's one deadline poller

__all__ = ["Pair", "active_and_standby", "make_pair", "wait_until"]

LEASE_TTL_S = 6.0  # renewed every 2 s: a loaded 2-core CI machine must not miss it
FAST = {
    "LIFECYCLE_SYNC_PUBSUB_KEEPALIVE_S": "5",
    "LIFECYCLE_SYNC_PUBSUB_BACKOFF_INITIAL_S": "0.05",
    "LIFECYCLE_SYNC_PUBSUB_BACKOFF_MAX_S": "0.5",
    "LIFECYCLE_SYNC_INBOX_BACKEND": "postgres",
    "LIFECYCLE_SYNC_INBOX_LEASE_TTL_S": str(LEASE_TTL_S),
    # the real default (TTL + 130 s) would make each takeover take minutes; the warning it
    # logs is expected
    "LIFECYCLE_SYNC_INBOX_TAKEOVER_WAIT_S": "0.5",
}


@dataclass
class Pair:
    dsn: str
    info_file: Path
    work: Path
    publisher: Publisher
    emulator: Any
    daemons: list[Daemon] = field(default_factory=list)
    notifies: list[NotifySocket] = field(default_factory=list)

    def daemon(self, name: str, **env: str) -> Daemon:
        """Start a node: its own state directory and notify socket, the shared inbox."""
        notify = NotifySocket(Path(tempfile.mkdtemp(prefix="ls-")) / f"n-{name}")
        daemon = Daemon(self.info_file, self.work / f"state-{name}",
                        self.work / f"daemon-{name}.log",
                        env={**FAST, "LIFECYCLE_SYNC_INBOX_DSN": self.dsn,
                             "NOTIFY_SOCKET": str(notify.path), **env})
        daemon.args[:3] = module_argv("service")
        self.notifies.append(notify)
        self.daemons.append(daemon.start())
        return daemon

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            return conn.execute(sql, args).fetchall()

    def lease(self) -> tuple[int | None, int]:
        """(holder's PID, epoch) of a live lease, or (None, epoch)."""
        rows = self.query("SELECT holder, epoch, expires_at > now() FROM lsync_lease")
        if not rows:
            return None, 0
        holder, epoch, live = rows[0]
        return (int(holder.split(":")[1]) if live and holder else None), int(epoch)

    def count(self, where: str = "TRUE") -> int:
        return int(self.query(f"SELECT count(*) FROM lsync_entries WHERE {where}")[0][0])

    def applied_ids(self) -> list[str]:
        return [r[0] for r in self.query(
            "SELECT event_id FROM lsync_entries WHERE status = 'applied' ORDER BY id")]

    def log(self, daemon: Daemon) -> str:
        return daemon.log_file.read_text(errors="replace")

    def close(self) -> None:
        for daemon in self.daemons:
            daemon.stop_quietly()
        for notify in self.notifies:
            notify.close()
        self.publisher.close()


def make_pair(dsn: str, work: Path, emulator: Any) -> Pair:
    info_file = work / "info.json"
    emulator.write_info(info_file)
    return Pair(dsn, info_file, work, Publisher(json.loads(info_file.read_text())), emulator)


def active_and_standby(pair: Pair, **env: str) -> tuple[Daemon, Daemon]:
    """Node a active at epoch 1, node b waiting as standby."""
    a = pair.daemon("a", **env)
    wait_until(lambda: pair.lease() == (a.pid, 1), 60, 0.1, "a to take the lease")
    b = pair.daemon("b", **env)
    wait_until(lambda: "standby" in pair.log(b), 60, 0.1, "b to wait as standby")
    return a, b
