"""The daemon as a real subprocess beside an in-process emulator, for the service tests.

Events are published over gRPC ``Publish``; the inbox is read read-only. Every wait polls a
condition against a deadline (:func:`svc_waiting.wait_until`).
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.children import module_argv

from benchmarks.rig import TRIAL_TOPIC, Daemon, NotifySocket, Publisher
from emulator.pubsub.subscribe import StreamSettings
from service.config import inbox_path
from service.state_guard import IDENTITY_NAME
from subscriber.events import EntryStatus
from subscriber.inbox import Inbox
from subscriber.inbox_file import readonly_uri

ROOT = Path(__file__).resolve().parents[2]
FAST = {  # quick reconnects and a short silence budget, so restarts don't dominate runtime
    "LIFECYCLE_SYNC_PUBSUB_KEEPALIVE_S": "5",
    "LIFECYCLE_SYNC_PUBSUB_BACKOFF_INITIAL_S": "0.05",
    "LIFECYCLE_SYNC_PUBSUB_BACKOFF_MAX_S": "0.5",
}


@dataclass
class Rig:
    info_file: Path
    state: Path
    work: Path
    publisher: Publisher
    sock_dir: Path
    emulator: Any = None
    daemons: list[Daemon] = field(default_factory=list)
    notifies: list[NotifySocket] = field(default_factory=list)

    def ready(self) -> bool:
        """The newest daemon has sent READY=1."""
        return self.notifies[-1].seen("READY=1")

    def daemon(self, auth: str = "auto", args: tuple[str, ...] = (), **env: str) -> Daemon:
        """Start one more daemon on the shared state, with its own notify socket; ``args`` are
        extra ``run`` arguments."""
        n = len(self.daemons)
        notify = NotifySocket(self.sock_dir / f"notify-{n}")
        daemon = Daemon(self.info_file, self.state, self.work / f"daemon-{n}.log",
                        env={**FAST, "NOTIFY_SOCKET": str(notify.path), **env}, auth=auth)
        daemon.args[:3] = module_argv("service")
        daemon.args.extend(args)
        self.notifies.append(notify)
        self.daemons.append(daemon.start())
        return daemon

    def stored(self) -> int:
        """Events in the inbox; 0 until the first daemon has created it (the identity marker
        is written right after the inbox is). Any error reading a created inbox propagates."""
        if not (self.state / IDENTITY_NAME).exists():
            return 0
        return len(self.entries())

    def entries(self) -> list[tuple[str, bytes]]:
        """Every landed event, whatever the apply loop has done with it since."""
        with Inbox.open_readonly(inbox_path(self.state)) as inbox:
            found = [e for status in EntryStatus
                     for e in inbox.entries(status, limit=1_000_000, topic=TRIAL_TOPIC)]
        return [(e.event_id, e.replay_id) for e in sorted(found, key=lambda e: e.id)]

    def checkpoint(self) -> bytes | None:
        with Inbox.open_readonly(inbox_path(self.state)) as inbox:
            return inbox.checkpoint(TRIAL_TOPIC).replay_id

    def meta(self) -> dict[str, str]:
        uri = readonly_uri(inbox_path(self.state))
        with sqlite3.connect(uri, uri=True) as db:
            return dict(db.execute("SELECT key, value FROM meta").fetchall())


RigFactory = Callable[..., Rig]


def rig_factory(tmp_path: Path, emulator_factory: Callable[..., Any]) -> Iterator[RigFactory]:
    """The body of the ``make_rig`` fixture: ``make_rig(stream=StreamSettings(...))``."""
    made: list[Rig] = []

    def make(stream: StreamSettings | None = None) -> Rig:
        emulator = emulator_factory(  # its files apart from the daemon's state directory
            state_dir=tmp_path / "emulator",
            stream=stream or StreamSettings(keepalive_s=0.5, idle_timeout_s=30.0))
        (tmp_path / "state").mkdir(exist_ok=True)  # as a deployment would have it
        info_file = tmp_path / "info.json"
        emulator.write_info(info_file)
        publisher = Publisher(json.loads(info_file.read_text()))
        sock_dir = Path(tempfile.mkdtemp(prefix="ls-"))  # AF_UNIX paths must stay short
        made.append(Rig(info_file, tmp_path / "state", tmp_path, publisher, sock_dir, emulator))
        return made[-1]

    yield make
    for rig in made:
        for daemon in rig.daemons:
            daemon.stop_quietly()
        for notify in rig.notifies:
            notify.close()
        rig.publisher.close()
        rig.sock_dir.rmdir()
