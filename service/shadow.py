"""Shadow mode (``service.mode = "shadow"``): read and decide everything, write nothing.

For a pilot before rollout. The apply loop runs unchanged against two stand-ins:

- :class:`ShadowGateway` reads through the real gateway (lookups cost API calls as in live)
  and turns each write into one structured log line (``shadow: would <op> <object>`` with
  the record's key and field names, never values: they hold emails) and a counter, returning
  what Salesforce would (made-up IDs for new records, no failures);
- :class:`ShadowInbox` never marks an entry applied, parked or poison. It keeps a watermark
  (``shadow:watermark`` in the inbox's meta table) of the entries simulated, so shadow does
  not simulate them again, while they stay ``pending`` in the inbox.

Switching shadow → live therefore applies every event that shadow only simulated exactly
once (the live apply loop ignores the watermark; pending entries are never pruned), and
nothing twice: shadow wrote nothing that live could duplicate. Of the scheduled jobs only
trial-alerts runs, deciding its Tasks and writing none (:mod:`service.shadow_jobs`). One
apply worker: the watermark stays a simple "everything up to here was simulated".
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from handlers.gateway_api import Gateway, WriteResult
from handlers.lookup import LookupRequest
from handlers.plan import ConvertRequest
from handlers.rule_settings import RuleSettings
from handlers.snapshot import LeadRow, Snapshot
from scheduler.erasure import email_hash
from subscriber.events import InboxEntry
from subscriber.inbox_api import InboxStore

log = logging.getLogger("lifecycle_sync.shadow")
WATERMARK_KEY = "shadow:watermark"
Count = Callable[[str, str], None]  # (operation, object)


def _fake_id(prefix: str, key: str) -> str:
    """A stable, obviously fake 18-character ID (``00QSHADOW...``)."""
    return (prefix + "SHADOW" + hashlib.sha256(key.encode()).hexdigest().upper())[:18]


def email_key(email: str, key: bytes) -> str:
    """An email shown only as a short keyed hash (logs at INFO never carry emails): the
    HMAC-SHA-256 :func:`scheduler.erasure.email_hash` under the state directory's erasure
    key, so it cannot be reversed by hashing candidate addresses, as an unsalted hash can;
    whoever holds the key can still match a line to an address."""
    return "email#" + email_hash(email, key)[:10]


class ShadowGateway:
    """A :class:`Gateway` whose writes are logged and counted, never sent. ``key``: the
    state directory's erasure key (:func:`scheduler.erasure.erasure_key`)."""

    def __init__(self, real: Gateway, count: Count, key: bytes) -> None:
        self._real = real
        self._count = count
        self._hash_key = key

    def _would(self, op: str, obj: str, key: str, fields: Iterable[str]) -> None:
        self._count(op, obj)
        log.info("shadow: would %s %s key=%s fields=%s", op, obj, key,
                 ",".join(sorted(fields)))

    def lookup(self, request: LookupRequest) -> Snapshot:
        return self._real.lookup(request)

    def create_leads(self, drafts: Mapping[str, dict[str, Any]]
                     ) -> tuple[dict[str, LeadRow], dict[str, str]]:
        for email, draft in drafts.items():
            self._would("create", "Lead", email_key(email, self._hash_key), draft)
        return {email: LeadRow(_fake_id("00Q", email_hash(email, self._hash_key)), email)
                for email in drafts}, {}

    def convert(self, requests: Sequence[ConvertRequest]
                ) -> tuple[dict[str, LeadRow], dict[str, str]]:
        done = {}
        for r in requests:
            self._would("convert", "Lead", r.lead_id, ("AccountId", "ContactId"))
            done[r.lead_id] = LeadRow(
                r.lead_id, None, is_converted=True,
                converted_account_id=r.account_id or _fake_id("001", r.lead_id),
                converted_contact_id=r.contact_id or _fake_id("003", r.lead_id))
        return done, {}

    def write(self, workspaces: Mapping[str, dict[str, Any]],
              cache_rows: Mapping[str, dict[str, Any]]) -> WriteResult:
        for key, fields in workspaces.items():
            self._would("upsert", "Workspace__c", key, fields)
        for uuid, fields in cache_rows.items():
            self._would("upsert", "Event_Cache__c", uuid, fields)
        return WriteResult()

    @property
    def rules(self) -> RuleSettings:
        return self._real.rules

    def create_tasks(self, tasks: Sequence[dict[str, Any]]) -> list[str]:
        for task in tasks:
            self._would("create", "Task", str(task.get("WhatId")), task)
        return []


class ShadowInbox:
    """The inbox as the shadow apply loop sees it: outcomes move a watermark, not entries."""

    def __init__(self, inbox: InboxStore) -> None:
        self._inbox = inbox
        self._lock = threading.Lock()
        self.watermark = int(inbox.meta(WATERMARK_KEY) or 0)

    def pending(self, limit: int = 100, topic: str | None = None,
                exclude: Iterable[int] = ()) -> list[InboxEntry]:
        return self._inbox.pending(limit, topic, exclude, after_id=self.watermark)

    def mark_done(self, applied: Iterable[int], parked: Mapping[int, str]) -> int:
        return self._simulated([*applied, *parked])

    def mark_poison(self, ids: Iterable[int], error: str) -> int:
        return self._simulated(ids)

    def _simulated(self, ids: Iterable[int]) -> int:
        found = list(ids)
        with self._lock:
            if found and max(found) > self.watermark:
                self.watermark = max(found)
                self._inbox.set_meta(WATERMARK_KEY, str(self.watermark))
        return len(found)

    def meta(self, key: str) -> str | None:
        return self._inbox.meta(key)

    def set_meta(self, key: str, value: str) -> None:
        self._inbox.set_meta(key, value)
