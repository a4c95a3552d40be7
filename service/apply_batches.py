"""Which pending entries go into the next apply cycle (pure; the apply loop holds the lock).

Cycles run concurrently, so each claims what it touches: its Workspace IDs and owner emails
(two cycles creating a Lead for the same email would duplicate it). A Workspace is never in
two cycles at once; an entry whose keys are claimed waits for a later cycle, which is safe
because the rules do not depend on arrival order. Lead change events can touch any Workspace
(by email or by Lead), so they run in an exclusive cycle, when nothing else is in flight.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from subscriber.events import InboxEntry


@dataclass(frozen=True)
class Batch:
    entries: list[InboxEntry]
    keys: frozenset[str] = field(default_factory=frozenset)
    exclusive: bool = False

    @property
    def ids(self) -> set[int]:
        return {e.id for e in self.entries}


def claim_keys(entry: InboxEntry) -> tuple[str, ...] | None:
    """The keys a lifecycle entry touches; None for a Lead change (exclusive lane)."""
    if entry.change is not None:
        return None
    payload = entry.payload or {}
    workspace = str(payload.get("Workspace_ID__c") or "").strip().lower()
    email = str(payload.get("Email__c") or "").strip().lower()
    return tuple(k for k in (f"ws:{workspace}" if workspace else "",
                             f"email:{email}" if email else "") if k)


def next_batch(pending: Sequence[InboxEntry], busy: set[str], running: int, size: int
               ) -> Batch | None:
    """The next cycle's entries, or None when nothing may start now."""
    if not pending:
        return None
    if pending[0].change is not None:  # the oldest is a Lead change: its turn, alone
        if running:
            return None
        return Batch([e for e in pending if e.change is not None][:size], exclusive=True)
    chosen: list[InboxEntry] = []
    claimed: set[str] = set()
    for entry in pending:
        if len(chosen) >= size:
            break
        keys = claim_keys(entry)
        if keys is None or any(k in busy for k in keys):
            continue
        chosen.append(entry)
        claimed.update(keys)
    return Batch(chosen, frozenset(claimed)) if chosen else None


def take_split(splits: list[list[InboxEntry]], busy: set[str], running: int) -> Batch | None:
    """The next half of a batch Salesforce refused (popped from ``splits``; its entries stayed
    in flight meanwhile), or None while its keys are busy or, for a Lead-change half (an
    exclusive cycle), while any other cycle or hold runs (``running``)."""
    entries = splits[-1]
    exclusive = entries[0].change is not None
    keys = frozenset(k for e in entries for k in (claim_keys(e) or ()))
    if (exclusive and running) or keys & busy:
        return None
    splits.pop()
    return Batch(entries, keys, exclusive)
