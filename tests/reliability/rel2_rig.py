"""What the part-B reliability cases (``test_rel2_*``) add around a daemon subprocess: the
emulator's admin API, a systemd notify socket, a local Sentry ingest endpoint (also a slow or
closed one), and starting several daemons one after another on the same state.

Built on :class:`tests.handlers.apply_rig.ApplyRig` (publish, read the inbox and the org);
the lost / duplicate / stale checks come from the part-A harness's checker. Every wait polls a
condition against a deadline.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

from benchmarks.rig import Daemon, NotifySocket
from emulator.pubsub.subscribe import StreamSettings
from emulator.server import Emulator, EmulatorSettings
from service.config import inbox_path
from subscriber.events import Checkpoint
from subscriber.inbox import Inbox
from tests.handlers.apply_rig import ApplyRig, wait_until
from tests.service.sentry_server import Envelopes, _decode

__all__ = ["Envelopes", "Rel2Rig", "emulator", "slow_sentry", "wait_until"]

EMAIL_RE = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"


@contextmanager
def emulator(work: Path, keepalive_s: float = 0.5, **settings: Any) -> Iterator[Emulator]:
    """A fresh in-process emulator in ``work/emulator`` (one per case: faults stay local)."""
    stream = StreamSettings(keepalive_s=keepalive_s, idle_timeout_s=60.0)
    with Emulator(EmulatorSettings(state_dir=work / "emulator", stream=stream,
                                   **settings)) as emu:
        yield emu


class Rel2Rig(ApplyRig):
    """An :class:`ApplyRig` whose daemons get a notify socket each and extra environment."""

    def __init__(self, emu: Emulator, work: Path, env: dict[str, str] | None = None) -> None:
        super().__init__(emu, work, env)
        self.daemons: list[Daemon] = []
        self.notifies: list[NotifySocket] = []
        self._sock_dir = Path(tempfile.mkdtemp(prefix="rel2-"))  # AF_UNIX paths stay short

    def run(self, *args: str, state: Path | None = None, **env: str) -> Daemon:
        """Start one more daemon (JWT auth) with ``env`` on top of the rig's; ``args`` are
        extra ``run`` options; ``state`` another state directory."""
        n = len(self.daemons)
        notify = NotifySocket(self._sock_dir / f"n{n}")
        daemon = Daemon(self.info_file, state or self.state, self.work / f"daemon-{n}.log",
                        env={**self.env, "NOTIFY_SOCKET": str(notify.path), **env}, auth="jwt")
        daemon.args.extend(args)
        self.notifies.append(notify)
        self.daemons.append(daemon.start())
        self.daemon = daemon
        return daemon

    def ready(self, n: int = -1) -> bool:
        return self.notifies[n].seen("READY=1")

    def admin_call(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = requests.post(f"{self.info['admin_url']}{path}", json=body or {}, timeout=30)
        response.raise_for_status()
        return response.json()

    def checkpoint(self, topic: str) -> Checkpoint:
        with Inbox.open_readonly(inbox_path(self.state)) as inbox:
            return inbox.checkpoint(topic)

    def meta(self) -> dict[str, str]:
        with Inbox.open_readonly(inbox_path(self.state)) as inbox:
            return dict(inbox._read("SELECT key, value FROM meta"))

    def logs(self) -> str:
        return "\n".join(d.log_text() for d in self.daemons)

    def close(self) -> None:
        for daemon in self.daemons:
            daemon.stop_quietly()
        for notify in self.notifies:
            notify.close()
        self._sock_dir.rmdir()
        super().close()


@contextmanager
def slow_sentry(delay_s: float = 0.0) -> Iterator[tuple[str, Envelopes]]:
    """A Sentry ingest endpoint on 127.0.0.1 that answers each envelope after ``delay_s``
    (0: at once): yields (dsn, envelopes)."""
    received = Envelopes()
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.add(_decode(body, self.headers.get("Content-Encoding", "")))
            release.wait(delay_s)  # the slow server under test, not a synchronisation
            try:
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"{}")
            except OSError:  # the SDK gave up waiting (its timeout), as against a real one
                return

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://publickey@127.0.0.1:{server.server_port}/42", received
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
