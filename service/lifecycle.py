"""Process concerns of the daemon: one instance per state directory, signals, sd_notify.

The lock is what makes "one writer per inbox" true: two daemons on one state directory would
interleave checkpoints and double every event. It is an ``fcntl.flock`` on ``STATE/lock``,
so the kernel releases it when the process dies, even by ``kill -9``; a stale PID in the file
is harmless because the PID is only informational.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import socket
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from subscriber.errors import Fatal

log = logging.getLogger("lifecycle_sync")

LOCK_NAME = "lock"


class AlreadyRunning(Exception):
    """Another process holds the state directory's lock; ``pid`` is what it wrote, if readable."""

    def __init__(self, lock_path: Path, pid: int | None) -> None:
        holder = f"PID {pid}" if pid is not None else "another process"
        super().__init__(
            f"{lock_path.parent} is in use by {holder} (lock {lock_path}); "
            "only one lifecycle-sync may run per state directory"
        )
        self.lock_path = lock_path
        self.pid = pid


def read_lock_pid(lock_path: Path) -> int | None:
    """The PID recorded in the lock file, or None when missing or unreadable."""
    try:
        text = lock_path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def lock_holder(state_dir: Path) -> int | None:
    """The PID holding ``STATE/lock`` right now, or None; never takes the lock itself.

    Taking even a shared lock to test would make a daemon starting at that instant refuse
    to run, so this reads ``/proc/locks`` and matches the lock file's device and inode.
    """
    lock_path = state_dir / LOCK_NAME
    try:
        st = os.stat(lock_path)
        table = Path("/proc/locks").read_text()
    except OSError:
        return None
    wanted = (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
    for line in table.splitlines():
        parts = line.split()
        if len(parts) < 6 or parts[1] != "FLOCK":  # "->" lines are waiters
            continue
        try:
            major, minor, inode = parts[5].split(":")
            found = (int(major, 16), int(minor, 16), int(inode))
            if found == wanted:
                return int(parts[4])
        except ValueError:
            continue
    return None


@contextlib.contextmanager
def state_lock(state_dir: Path) -> Iterator[Path]:
    """Hold ``STATE/lock`` for the body, or raise :class:`AlreadyRunning` at once.

    The file is opened without truncation, so a refused second instance never wipes the
    holder's PID; only the holder rewrites it after winning the lock.
    """
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    make_private_dir(state_dir)
    lock_path = state_dir / LOCK_NAME
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning(lock_path, read_lock_pid(lock_path)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield lock_path
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def make_private_dir(state_dir: Path) -> None:
    """Take group/other access away from the state directory, with a warning: the inbox in it
    holds customers' email addresses. (A directory created here is 0700 already; one made
    beforehand, e.g. by ``mkdir`` under umask 022, is 0755.) Under systemd,
    ``StateDirectoryMode=0700`` makes this a no-op."""
    mode = stat.S_IMODE(state_dir.stat().st_mode)
    if not mode & 0o077:
        return
    try:
        state_dir.chmod(0o700)
    except OSError as exc:
        raise Fatal(f"the state directory {state_dir} is accessible to other users (mode "
                    f"{mode:04o}) and cannot be made private ({exc}); chmod 700 it or use "
                    "another directory") from None
    log.warning("state directory %s was accessible to other users (mode %04o); changed it "
                "to 0700", state_dir, mode)


def install_stop_handlers(stop: threading.Event) -> None:
    """Turn SIGTERM and SIGINT into ``stop.set()``: the intake finishes its batch and returns.

    A second signal while stopping is ignored on purpose; systemd escalates to SIGKILL after
    ``TimeoutStopSec`` if the graceful path ever hangs, and the inbox survives that too.
    """

    def _handler(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _handler)


class Notifier:
    """sd_notify over ``$NOTIFY_SOCKET``; every call is a no-op when not run by systemd.

    About ten lines of datagram socket instead of a dependency. Sends never block (a full
    receiver queue would otherwise hang the daemon's main loop, and with it shutdown) and
    failures are swallowed: a lost status line must never stop the intake.
    """

    def __init__(self, socket_path: str | None = None) -> None:
        path = socket_path if socket_path is not None else os.environ.get("NOTIFY_SOCKET", "")
        self._address = "\0" + path[1:] if path.startswith("@") else path
        usec = os.environ.get("WATCHDOG_USEC", "")
        self.watchdog_interval_s = int(usec) / 2e6 if usec.isdigit() and int(usec) > 0 else None

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    def send(self, *fields: str) -> None:
        if not self._address:
            return
        with (
            contextlib.suppress(OSError),
            socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock,
        ):
            sock.sendto("\n".join(fields).encode(), socket.MSG_DONTWAIT, self._address)

    def ready(self, status: str) -> None:
        self.send("READY=1", f"STATUS={status}")

    def stopping(self) -> None:
        self.send("STOPPING=1", "STATUS=stopping")

    def status(self, status: str) -> None:
        self.send(f"STATUS={status}")

    def watchdog(self) -> None:
        self.send("WATCHDOG=1")
