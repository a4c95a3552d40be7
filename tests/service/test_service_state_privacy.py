"""The state directory holds customers' email addresses (the inbox): the daemon keeps it
private even outside systemd (whose ``UMask=0077`` and ``StateDirectoryMode=0700`` cover only
the unit): the directory is tightened to 0700 with a warning, every file it writes is 0600."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from svc_rig import Rig
from svc_waiting import wait_until

DAEMON_FILES = ("inbox.db", "inbox.db-wal", "inbox.db-shm", "lock", "inbox-identity.json",
                "jobs.db", "jobs.db-wal", "jobs.db-shm")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_group_readable_state_dir_is_tightened_and_every_file_is_0600(rig: Rig) -> None:
    rig.state.chmod(0o755)
    old = os.umask(0o022)  # the child inherits it: files would be 0644 by default
    try:
        daemon = rig.daemon()
    finally:
        os.umask(old)
    wait_until(rig.ready, 30, what="READY=1")
    rig.publisher.publish(3)
    wait_until(lambda: rig.stored() >= 3, 30, what="3 events stored")
    modes = {p.name: _mode(p) for p in rig.state.iterdir()}
    assert daemon.terminate(timeout_s=10) == 0
    assert _mode(rig.state) == 0o700
    assert set(DAEMON_FILES) <= set(modes)  # the files the daemon is known to write exist
    assert modes == dict.fromkeys(modes, 0o600)  # every file in the directory, not a list
    assert f"state directory {rig.state} was accessible to other users (mode 0755)" in (
        daemon.log_text())
