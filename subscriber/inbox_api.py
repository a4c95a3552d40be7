"""What the rest of the daemon may ask of an inbox, whichever engine holds it.

Two backends implement it: :class:`subscriber.inbox.Inbox` (one SQLite file, the embedded
default) and :class:`subscriber.inbox_pg.PgInbox` (PostgreSQL, for active/standby pairs). Only
``service/`` picks one; the intake, the apply loop and the jobs see these protocols, so the
semantics they rely on are spelled out here once:

- :meth:`IntakeInbox.store_batch` commits a batch and its topic's replay ID in one transaction;
  a duplicate (same topic and dedupe key) is dropped at the door;
- :meth:`ApplyInbox.mark_done` runs only after Salesforce confirmed the writes;
- a write that cannot be committed raises :class:`~subscriber.errors.InboxFailed` with nothing
  changed (on PostgreSQL also when this process no longer holds the lease:
  :class:`~subscriber.errors.LeaseLost`).

The protocols are split by who calls what, so each caller depends on as little as it uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple, Protocol

from subscriber.events import (
    BatchStats,
    Checkpoint,
    EntryStatus,
    InboxEntry,
    Jump,
    Received,
    TopicCounts,
)


class InboxIdentity(NamedTuple):
    """Who this inbox is: a random ID and when it was created (epoch seconds)."""

    inbox_id: str
    created_at: float | None


class IntakeInbox(Protocol):
    """The subscriber's side: land batches, move checkpoints, remember replay jumps."""

    def store_batch(self, topic: str, events: Sequence[Received], replay_id: bytes
                    ) -> BatchStats: ...

    def advance_checkpoint(self, topic: str, replay_id: bytes) -> bool: ...

    def set_checkpoint(self, topic: str, replay_id: bytes) -> None: ...

    def checkpoint(self, topic: str) -> Checkpoint: ...

    def record_jump(self, topic: str, to: str, rejected: bytes, *, starting: bool) -> Jump: ...

    def pending_jump(self, topic: str) -> Jump | None: ...

    def meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...  # gap records (subscriber.gaps)


class ApplyInbox(Protocol):
    """The consumers' side: read pending work, record what Salesforce confirmed."""

    def pending(self, limit: int = 100, topic: str | None = None,
                exclude: Iterable[int] = ()) -> list[InboxEntry]: ...

    def mark_done(self, applied: Iterable[int], parked: Mapping[int, str]) -> int: ...

    def mark_poison(self, ids: Iterable[int], error: str) -> int: ...

    def meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...


class InboxReader(Protocol):
    """What status, metrics and health read (never a write)."""

    def entries(self, status: EntryStatus, *, limit: int = 100, topic: str | None = None,
                exclude: Iterable[int] = (), after_id: int = 0) -> list[InboxEntry]: ...

    def recent(self, limit: int = 10) -> list[InboxEntry]: ...

    def counts_by_topic(self) -> dict[str, TopicCounts]: ...

    def checkpoint(self, topic: str) -> Checkpoint: ...

    def meta(self, key: str) -> str | None: ...

    def identity(self) -> InboxIdentity: ...


class InboxStore(IntakeInbox, ApplyInbox, InboxReader, Protocol):
    """A whole inbox as the daemon holds it (both sides, housekeeping and closing)."""

    def pending(self, limit: int = 100, topic: str | None = None,
                exclude: Iterable[int] = (), after_id: int = 0) -> list[InboxEntry]:
        """``after_id``: only entries stored after this one (shadow mode's watermark)."""
        ...

    def mark_applied(self, ids: Iterable[int]) -> int: ...

    def prune(self) -> int: ...

    def close(self) -> None: ...
