"""The state-directory lock, sd_notify and the log scrubber."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from svc_waiting import wait_until

from service.lifecycle import AlreadyRunning, Notifier, lock_holder, state_lock
from service.logging_setup import ScrubbingFormatter
from service.progress import DaemonHooks
from subscriber.events import BatchStats

ROOT = Path(__file__).resolve().parents[2]
HOLD = (
    "import sys, threading\n"
    "from pathlib import Path\n"
    "from service.lifecycle import state_lock\n"
    "with state_lock(Path(sys.argv[1])):\n"
    "    print('held', flush=True)\n"
    "    threading.Event().wait()\n"
)


def test_second_holder_is_refused_naming_the_pid_and_kill_9_frees_it(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(AlreadyRunning) as refused, state_lock(tmp_path):
            pass
        assert refused.value.pid == holder.pid
        assert f"PID {holder.pid}" in str(refused.value)
        assert lock_holder(tmp_path) == holder.pid
    finally:
        holder.kill()
        holder.wait(30)
        if holder.stdout is not None:
            holder.stdout.close()
    wait_until(lambda: lock_holder(tmp_path) is None, 10, what="the kernel to drop the lock")
    with state_lock(tmp_path):
        assert (tmp_path / "lock").read_text().strip().isdigit()


def test_notifier_sends_datagrams_and_is_silent_without_socket(tmp_path: Path) -> None:
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(str(path))
        notifier = Notifier(str(path))
        notifier.ready("subscribed")
        assert server.recv(4096).decode().splitlines() == ["READY=1", "STATUS=subscribed"]
        notifier.status("catching up")
        assert server.recv(4096).decode() == "STATUS=catching up"
        notifier.stopping()
        assert server.recv(4096).decode().splitlines() == ["STOPPING=1", "STATUS=stopping"]
    Notifier("").ready("nobody listens")  # no socket: a no-op, never an error


def test_notifier_never_blocks_on_a_full_receiver(tmp_path: Path) -> None:
    """systemd not reading its socket must never hang the daemon's main loop: sends that do
    not fit are dropped (MSG_DONTWAIT), never waited for."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(str(tmp_path / "notify"))
        notifier = Notifier(str(tmp_path / "notify"))

        def flood() -> None:
            for _ in range(1000):  # far beyond net.unix.max_dgram_qlen; nobody reads
                notifier.watchdog()

        sender = threading.Thread(target=flood, daemon=True)
        sender.start()
        sender.join(30)  # a deadline, not a measurement: 1000 non-blocking sends take ms
        blocked = sender.is_alive()
    # closing the receiver (above) ends a blocked send with an error, so no thread is left
    sender.join(30)
    assert not blocked, "Notifier.send blocked on a full receiver queue"
    assert not sender.is_alive()


def _format(level: int, message: str, *args: object, secrets: tuple[str, ...] = ()) -> str:
    record = logging.LogRecord("t", level, __file__, 1, message, args, None)
    return ScrubbingFormatter(secrets).format(record)


def test_formatter_keeps_one_line_and_masks_secrets() -> None:
    token = "00D5g000004ZabcEAA!AQ8AQJhd8s9d8f9s8df9s8d7f98sd7f89xyz"
    line = _format(logging.INFO, "login ok token=%s for %s\nsecond line", token, "a.b@corp.com")
    assert "\n" not in line
    assert token not in line
    assert "a.b@corp.com" not in line
    pem = "-----BEGIN PRIVATE KEY-----\nMIIabc\n-----END PRIVATE KEY-----"
    assert "MIIabc" not in _format(logging.ERROR, "bad key %s", pem)
    assert "my-client-secret" not in _format(logging.WARNING, "x my-client-secret y",
                                             secrets=("my-client-secret",))
    assert "a.b@corp.com" in _format(logging.DEBUG, "debug %s", "a.b@corp.com")


def test_watchdog_liveness_needs_every_topic_to_show_life() -> None:
    now = [0.0]
    hooks = DaemonHooks(["/event/A__e", "/data/B"], stale_after_s=10, clock=lambda: now[0])
    assert hooks.alive()
    now[0] = 8.0
    hooks.keepalive("/event/A__e", b"\x01")
    now[0] = 12.0
    assert not hooks.alive()  # /data/B silent for 12 s
    hooks.batch_stored("/data/B", BatchStats(stored=3, duplicates=1, poison=0))
    assert hooks.alive()
    now[0] = 25.0  # /event/A__e silent for 17 s, but a reconnect being scheduled is life too
    assert not hooks.alive()
    hooks.reconnecting("/event/A__e", "UNAVAILABLE", 1.0)
    hooks.keepalive("/data/B", b"\x02")
    assert hooks.alive()
    assert "/data/B stored=3 duplicates=1 poison=0" in hooks.summary()
