"""The state directory remembers the inbox it held, so losing one is never silent.

The inbox is what makes replays safe: its dedupe rows drop every event already received. A
daemon that silently started a new, empty inbox in place of a lost one would resubscribe from
``start_from`` and store (and, once handlers exist, apply) retained events a second time. So
the first start writes ``STATE/inbox-identity.json`` naming the inbox (a random ID kept inside
the inbox file too), and every start compares the two:

- no inbox and no identity: a new state directory; create both;
- an inbox and a matching identity (or none yet, from before this check): run;
- an identity but no inbox, or an inbox with another ID: refuse (:class:`Fatal`, exit 78)
  and explain how to restore it or start afresh deliberately;
- ``run --reset-inbox``: accept what is there (a missing inbox becomes a new one) and
  record it as the state directory's inbox. It never deletes anything.

A damaged inbox file (truncated, overwritten) is refused the same way.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from pathlib import Path

from service.config import inbox_path
from subscriber.errors import Fatal
from subscriber.inbox import Inbox, InboxIdentity

log = logging.getLogger("lifecycle_sync")

IDENTITY_NAME = "inbox-identity.json"


def open_inbox(state_dir: Path, *, retention_s: float, reset: bool = False) -> Inbox:
    """The state directory's inbox, checked against its recorded identity."""
    path = inbox_path(state_dir)
    marker = state_dir / IDENTITY_NAME
    recorded = read_identity(marker)
    existed = path.exists()
    if recorded is not None and not existed and not reset:
        raise Fatal(_lost(path, marker, recorded))
    try:
        inbox = Inbox(path, applied_retention_s=retention_s)
    except Fatal as exc:
        raise Fatal(f"{exc}. {_fresh_start(path)}") from None
    identity = inbox.identity()
    if recorded is not None and recorded.inbox_id != identity.inbox_id and not reset:
        inbox.close()
        raise Fatal(_replaced(path, marker, recorded, identity))
    if reset:
        what = "an existing" if existed else "a new, empty"
        log.warning("--reset-inbox: using %s inbox %s (ID %s) as this state directory's "
                    "inbox from now on; topics without a checkpoint start from start_from",
                    what, path, identity.inbox_id)
    if recorded != identity:
        write_identity(marker, identity)
    return inbox


def read_identity(marker: Path) -> InboxIdentity | None:
    """The identity recorded in ``marker``, or None when there is no such file."""
    try:
        data = json.loads(marker.read_text())
        return InboxIdentity(str(data["inbox_id"]), data.get("created_at"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise Fatal(f"cannot read {marker} ({exc}): it records which inbox this state "
                    "directory holds. Delete it only if the inbox next to it is the right one; "
                    "the next start records that inbox again") from None


def write_identity(marker: Path, identity: InboxIdentity) -> None:
    """Replace ``marker`` atomically and durably (write, fsync, rename, fsync the directory)."""
    tmp = marker.with_name(marker.name + ".tmp")
    text = json.dumps({"inbox_id": identity.inbox_id, "created_at": identity.created_at,
                       "inbox": inbox_path(marker.parent).name}) + "\n"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, marker)
    dir_fd = os.open(marker.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _created(identity: InboxIdentity) -> str:
    if identity.created_at is None:
        return "at an unknown time"
    when = dt.datetime.fromtimestamp(identity.created_at, dt.UTC)
    return f"created {when.isoformat(timespec='seconds')}"


def _fresh_start(path: Path) -> str:
    return (f"To start afresh deliberately, move {path.name}, {path.name}-wal and "
            f"{path.name}-shm out of {path.parent} (keep them: they hold what was received), "
            "then run once with `lifecycle-sync run --reset-inbox`; every topic then starts "
            "from start_from, and events the old inbox already held may be stored again")


def _lost(path: Path, marker: Path, recorded: InboxIdentity) -> str:
    return (
        f"the inbox {path} is missing, but this state directory held one (ID "
        f"{recorded.inbox_id}, {_created(recorded)}; recorded in {marker}). Refusing to start "
        "a new, empty inbox: every topic would resubscribe from start_from, and without the "
        "lost inbox's dedupe rows the retained events it already held would be stored (and "
        "applied) a second time. Restore the inbox file from a backup, or, to start afresh "
        f"deliberately, run once with `lifecycle-sync run --reset-inbox` (or delete {marker})"
    )


def _replaced(path: Path, marker: Path, recorded: InboxIdentity, found: InboxIdentity) -> str:
    return (
        f"the inbox {path} is not the one this state directory held: it has ID "
        f"{found.inbox_id} ({_created(found)}), {marker} records {recorded.inbox_id} "
        f"({_created(recorded)}). The inbox was replaced or recreated; starting on it could "
        "skip or duplicate events. Put the right inbox back, or, to adopt this one "
        f"deliberately, run once with `lifecycle-sync run --reset-inbox` (or delete {marker})"
    )
