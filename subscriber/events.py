"""The values that travel from the stream into the inbox, and out of it to consumers.

Replay IDs are opaque ``bytes`` everywhere: never converted to integers, never cut short.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple


class EntryKind(StrEnum):
    """What an inbox entry holds."""

    EVENT = "event"              # a platform event
    CHANGE = "change"            # a Change Data Capture event (CREATE/UPDATE/DELETE/UNDELETE)
    GAP = "gap"                  # a CDC GAP_* event: record IDs only, re-read the records
    GAP_OVERFLOW = "gap_overflow"  # a CDC GAP_OVERFLOW event: reconcile the whole entity
    UNDECODABLE = "undecodable"  # a payload that could not be decoded or stored (POISON)


class EntryStatus(StrEnum):
    """Where an inbox entry is in its life."""

    PENDING = "pending"
    APPLIED = "applied"
    POISON = "poison"


@dataclass(frozen=True)
class ChangeHeader:
    """A decoded ``ChangeEventHeader``; the three bitmaps turned into field names.

    Nested (compound) fields are named ``Parent.Child``, e.g. ``Name.LastName``.
    """

    entity_name: str
    change_type: str
    change_origin: str
    record_ids: tuple[str, ...]
    transaction_key: str
    sequence_number: int
    commit_timestamp: int
    commit_number: int
    commit_user: str
    changed_fields: tuple[str, ...] = ()
    nulled_fields: tuple[str, ...] = ()
    diff_fields: tuple[str, ...] = ()

    @property
    def is_gap(self) -> bool:
        """True for every ``GAP_*`` change type, GAP_OVERFLOW included."""
        return self.change_type.startswith("GAP_")

    @property
    def is_overflow(self) -> bool:
        return self.change_type == "GAP_OVERFLOW"


@dataclass(frozen=True)
class DecodedEvent:
    """One event decoded with the schema its ``schema_id`` names.

    ``raw`` is the Avro payload it was decoded from (kept in memory only: it becomes the poison
    entry's ``raw`` if the decoded values cannot be stored).
    """

    topic: str
    replay_id: bytes
    event_id: str
    schema_id: str
    kind: EntryKind
    payload: dict[str, Any]
    change: ChangeHeader | None = None
    raw: bytes = field(default=b"", repr=False, compare=False)

    @property
    def dedupe_key(self) -> str:
        """Platform events: the EventUuid. Change events: transactionKey + sequenceNumber."""
        if self.change is not None:
            return f"txn:{self.change.transaction_key}:{self.change.sequence_number}"
        if self.event_id:
            return f"uuid:{self.event_id}"
        return f"replay:{self.replay_id.hex()}"


@dataclass(frozen=True)
class UndecodableEvent:
    """An event whose payload could not be decoded, kept with its error (a poison entry).

    ``raw`` holds the payload bytes; ``error`` names the failure without repeating them;
    ``error_class`` is its short, stable category (for reporting once per class).
    """

    topic: str
    replay_id: bytes
    event_id: str
    schema_id: str
    raw: bytes = field(repr=False)
    error: str = ""
    error_class: str = "undecodable payload"

    @property
    def dedupe_key(self) -> str:
        if self.event_id:
            return f"uuid:{self.event_id}"
        return f"replay:{self.replay_id.hex()}"


Received = DecodedEvent | UndecodableEvent


@dataclass(frozen=True)
class InboxEntry:
    """One row of the inbox, as consumers read it."""

    id: int
    topic: str
    kind: EntryKind
    status: EntryStatus
    replay_id: bytes
    event_id: str
    schema_id: str
    dedupe_key: str
    received_at: dt.datetime
    payload: dict[str, Any] | None = field(repr=False)
    change: ChangeHeader | None = None
    error: str = ""
    raw: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class BatchStats:
    """What one committed batch did: new entries, duplicates dropped, poison kept.

    ``poisoned`` lists the poison entries this batch added (not duplicates of earlier ones);
    ``landed`` every event this batch added, poison included, in replay order.
    """

    stored: int
    duplicates: int
    poison: int
    poisoned: tuple[UndecodableEvent, ...] = field(default=(), repr=False)
    landed: tuple[Received, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class Jump:
    """A durable decision to start ``topic`` from a preset rather than resume from a checkpoint.

    ``to`` is ``"latest"`` or ``"earliest"``; ``rejected`` is the replay ID Salesforce refused
    (``b""`` when ``start_from = "latest"`` chose it for a topic with no checkpoint yet);
    ``at`` is when the decision was first made; ``starts`` counts the subscriptions started from
    it. The inbox drops it with the topic's next checkpoint; until then every reconnect or
    restart carries it out again, and knows (``starts`` > 1) that it is a repeat.
    """

    to: str
    at: dt.datetime
    rejected: bytes = b""
    starts: int = 0


class Checkpoint(NamedTuple):
    """A topic's resume point: the replay ID and when it was written (None if never)."""

    replay_id: bytes | None
    updated_at: dt.datetime | None


@dataclass(frozen=True)
class TopicCounts:
    """Inbox counts for one topic (for the status command and metrics).

    ``parked`` counts the applied entries that were parked in Salesforce (``Event_Cache__c``)
    rather than applied to their records; they are included in ``applied``."""

    pending: int
    applied: int
    poison: int
    oldest_pending_age_s: float | None
    parked: int = 0
