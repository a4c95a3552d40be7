"""Durable records of replay gaps: each time Salesforce refused a topic's stored replay ID.

A refused replay ID means events may be gone (past the 72-hour window) or skipped (policy
``latest``). The jump record (:meth:`Inbox.record_jump`) lasts only until the next checkpoint,
so on its own nothing would say afterwards that a gap happened or where it began. Each refusal
therefore appends a record to the inbox (kept across restarts, last :data:`KEEP` per topic):
the last good replay ID and when it was checkpointed, when it was refused, the policy followed
and Salesforce's error code and rpc-id. Operators reconcile from ``last_good_at`` onwards.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Protocol

from subscriber.events import Checkpoint

KEEP = 20


class MetaReader(Protocol):
    def meta(self, key: str) -> str | None: ...


class MetaStore(MetaReader, Protocol):
    def set_meta(self, key: str, value: str) -> None: ...


def gap_key(topic: str) -> str:
    return f"gaps:{topic}"


def record_gap(store: MetaStore, topic: str, last_good: Checkpoint, policy: str,
               error_code: str, rpc_id: str, now: dt.datetime | None = None) -> dict[str, Any]:
    """Append one gap record for ``topic``; returns it."""
    record = {
        "topic": topic,
        "last_good_replay_id": last_good.replay_id.hex() if last_good.replay_id else "",
        "last_good_at": last_good.updated_at.isoformat() if last_good.updated_at else None,
        "refused_at": (now or dt.datetime.now(dt.UTC)).isoformat(),
        "policy": policy, "error_code": error_code, "rpc_id": rpc_id,
    }
    store.set_meta(gap_key(topic), json.dumps([*gaps(store, topic), record][-KEEP:]))
    return record


def gaps(store: MetaReader, topic: str) -> list[dict[str, Any]]:
    """The gap records of ``topic``, oldest first ([] when none or unreadable)."""
    raw = store.meta(gap_key(topic))
    try:
        found = json.loads(raw) if raw else []
    except ValueError:
        return []
    return [g for g in found if isinstance(g, dict)] if isinstance(found, list) else []


def reconciled_key(topic: str) -> str:
    return f"gaps-reconciled:{topic}"


def reconciled(store: MetaReader, topic: str) -> dict[str, Any]:
    """What the reconcile-gaps job (:mod:`scheduler.reconcile_gaps`) did per gap, by the
    gap's ``refused_at``: {"flagged": n, "at": when finished (absent: still going)}."""
    try:
        found = json.loads(store.meta(reconciled_key(topic)) or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}
