"""check-config's message for a state directory it may not create: under systemd that is
normal until the unit's StateDirectory= creates it, and the message says how to check as the
service would (mutation testing found the wording unpinned; as root no real directory refuses
us, so the message is built directly)."""

from __future__ import annotations

import os
from pathlib import Path

# _cannot_create, private: its public path needs a state_dir the test user cannot create,
# which running as root (CI containers) makes impossible to set up.
from service.local_checks import _cannot_create


def test_a_state_dir_refused_by_permissions_explains_systemds_state_directory() -> None:
    path = Path("/var/lib/lifecycle-sync")
    assert _cannot_create(path, "Permission denied", systemd_hint=True) == (
        f"service.state_dir {path} does not exist and cannot be created (Permission denied; "
        f"uid {os.getuid()}). Under systemd the unit's StateDirectory= creates it at start: "
        "to check as the service would, give systemd-run `-p StateDirectory=lifecycle-sync` "
        "(docs/deployment.md, 'Check the configuration'); otherwise create it, or choose "
        "another state_dir")
    assert _cannot_create(path, "Read-only file system", systemd_hint=False).endswith(
        f"(Read-only file system; uid {os.getuid()}): choose another state_dir")
