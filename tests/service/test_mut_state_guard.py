"""The state directory's inbox identity check, as an operator reads its refusals: a lost or
replaced inbox is named with its ID and when it was created (real SQLite files; mutation
testing found the wording of the "when" unpinned)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.config import inbox_path
from service.state_guard import IDENTITY_NAME, open_inbox, read_identity, write_identity
from subscriber.errors import Fatal
from subscriber.inbox import InboxIdentity


def test_a_lost_inbox_recorded_without_a_creation_time_says_when_is_unknown(
        tmp_path: Path) -> None:
    marker = tmp_path / IDENTITY_NAME
    write_identity(marker, InboxIdentity("inbox-1", None))
    with pytest.raises(Fatal) as caught:
        open_inbox(tmp_path, retention_s=3600)
    text = str(caught.value)
    assert text.startswith(f"the inbox {inbox_path(tmp_path)} is missing, but this state "
                           f"directory held one (ID inbox-1, at an unknown time; recorded in "
                           f"{marker}). Refusing to start a new, empty inbox")
    assert text.endswith(f"run once with `lifecycle-sync run --reset-inbox` (or delete {marker})")
    assert not inbox_path(tmp_path).exists()  # nothing created in its place


def test_a_lost_inbox_is_named_with_its_creation_time_in_utc(tmp_path: Path) -> None:
    write_identity(tmp_path / IDENTITY_NAME, InboxIdentity("inbox-2", 1_764_493_200.0))
    with pytest.raises(Fatal, match=r"\(ID inbox-2, created 2025-11-30T09:00:00\+00:00; "):
        open_inbox(tmp_path, retention_s=3600)


def test_a_replaced_inbox_names_both_ids_and_both_creation_times(tmp_path: Path) -> None:
    open_inbox(tmp_path, retention_s=3600).close()  # records the real inbox's identity
    marker = tmp_path / IDENTITY_NAME
    found = read_identity(marker)
    assert found is not None
    assert found.created_at is not None
    write_identity(marker, InboxIdentity("someone-else", None))
    with pytest.raises(Fatal) as caught:
        open_inbox(tmp_path, retention_s=3600)
    text = str(caught.value)
    assert f"it has ID {found.inbox_id} (created 20" in text
    assert f"{marker} records someone-else (at an unknown time). The inbox was replaced or " \
           "recreated; starting on it could skip or duplicate events. Put the right inbox " \
           "back, or, to adopt this one deliberately, run once with `lifecycle-sync run " \
           f"--reset-inbox` (or delete {marker})" in text
    assert read_identity(marker) == InboxIdentity("someone-else", None)  # left as it was


def test_reset_inbox_adopts_the_inbox_found_and_records_it(tmp_path: Path) -> None:
    write_identity(tmp_path / IDENTITY_NAME, InboxIdentity("lost-one", None))
    inbox = open_inbox(tmp_path, retention_s=3600, reset=True)
    try:
        identity = inbox.identity()
    finally:
        inbox.close()
    recorded = json.loads((tmp_path / IDENTITY_NAME).read_text())
    assert recorded == {"inbox_id": identity.inbox_id, "created_at": identity.created_at,
                        "inbox": inbox_path(tmp_path).name}
    assert (tmp_path / IDENTITY_NAME).stat().st_mode & 0o777 == 0o600
