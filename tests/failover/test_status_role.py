"""``status`` on PostgreSQL: which node holds the lease, told by the holder ID the running
daemon noted in ``STATE/role`` (host:pid:tag), so a daemon that reused a crashed holder's PID
is not shown as the holder of the dead one's lease."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from service.failover_run import note_role
from service.status_failover import noted_role, role_of

HOST = socket.gethostname()


def test_the_daemon_notes_its_pid_role_and_holder_id(tmp_path: Path) -> None:
    note_role(tmp_path, "taking-over", f"{HOST}:{os.getpid()}:ab12cd34")
    assert noted_role(tmp_path, os.getpid()) == ("taking-over", f"{HOST}:{os.getpid()}:ab12cd34")
    assert noted_role(tmp_path, os.getpid() + 1) == ("", "")  # another daemon's note
    assert noted_role(tmp_path / "none", os.getpid()) == ("", "")


def test_a_note_without_a_holder_still_gives_the_role(tmp_path: Path) -> None:
    (tmp_path / "role").write_text(f"{os.getpid()} active\n")
    assert noted_role(tmp_path, os.getpid()) == ("active", "")


def test_a_reused_pid_is_not_the_dead_holders_lease() -> None:
    dead = f"{HOST}:1:deadbeef"
    assert role_of(dead, True, 1, "standby", f"{HOST}:1:0badf00d") == "standby"
    assert role_of(dead, True, 1, "active", dead) == "active"
    assert role_of(dead, True, 1, "taking-over", dead) == "taking-over"


def test_without_a_noted_holder_host_and_pid_decide() -> None:
    assert role_of(f"{HOST}:42:aaaa", True, 42) == "active"
    assert role_of(f"{HOST}:42:aaaa", True, 43) == "standby"
    assert role_of(f"other-{HOST}:42:aaaa", True, 42) == "standby"


def test_an_expired_lease_or_no_daemon() -> None:
    mine = f"{HOST}:42:aaaa"
    assert role_of(mine, False, 42, "active", mine) == "standby"
    assert role_of(mine, True, None, "active", mine) == "stopped"
