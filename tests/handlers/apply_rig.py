"""The daemon as a real subprocess applying events to an in-process emulator, over the network.

Lifecycle events are published with gRPC ``Publish``; Marketo's and reps' Lead writes go over
REST with their own ``client=``; records are read back with simple-salesforce. Waits poll the
daemon's inbox (read-only) against a deadline. API calls are read from the emulator's counters.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
from helpers.children import module_argv
from helpers.pubsub_client import TRIAL_TOPIC, PubSubClient
from helpers.sf_rest import admin_client
from simple_salesforce.api import Salesforce

from benchmarks.rig import Daemon, poll
from emulator.server import Emulator
from service.config import inbox_path
from subscriber.errors import SubscriberError
from subscriber.events import EntryStatus, InboxEntry
from subscriber.inbox import Inbox

if TYPE_CHECKING:
    from subscriber.inbox_pg import PgInbox

T0_MS = 1_790_000_000_000
FAST = {"LIFECYCLE_SYNC_PUBSUB_KEEPALIVE_S": "5",
        "LIFECYCLE_SYNC_PUBSUB_BACKOFF_INITIAL_S": "0.05",
        "LIFECYCLE_SYNC_PUBSUB_BACKOFF_MAX_S": "0.5"}


def pg_env(dsn: str) -> dict[str, str]:
    """The daemon on the PostgreSQL inbox: a short lease and takeover wait, so a test that
    kills and restarts it waits seconds, not the production TTL + 130 s."""
    return {"LIFECYCLE_SYNC_INBOX_BACKEND": "postgres", "LIFECYCLE_SYNC_INBOX_DSN": dsn,
            "LIFECYCLE_SYNC_INBOX_LEASE_TTL_S": "3", "LIFECYCLE_SYNC_INBOX_TAKEOVER_WAIT_S": "0.5"}


def wait_until(predicate: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """The first truthy ``predicate()``, polled against a deadline (benchmarks.rig.poll)."""
    return poll(predicate, timeout_s, what, interval_s=0.05)


def rest_client(info: dict[str, Any], client_name: str) -> Salesforce:
    return admin_client(info, client_name)


class ApplyRig:
    """``inbox_dsn``: the daemon runs on the PostgreSQL backend there (the schema upgraded by
    the caller), taking the lease as the only node; else on the state directory's file."""

    def __init__(self, emulator: Emulator, work: Path, env: dict[str, str] | None = None,
                 inbox_dsn: str | None = None) -> None:
        self.emulator = emulator
        self.inbox_dsn = inbox_dsn
        self.env = {**FAST, **(pg_env(inbox_dsn) if inbox_dsn else {}), **(env or {})}
        self._reader: PgInbox | None = None
        self.work = work
        self.info_file = work / "info.json"
        emulator.write_info(self.info_file)
        self.info = json.loads(self.info_file.read_text())
        self.pubsub = PubSubClient(self.info)
        self.schema_id = self.pubsub.get_topic(TRIAL_TOPIC).schema_id
        self.admin = rest_client(self.info, "test-admin")
        self.state = work / "state"
        self.daemon: Daemon | None = None
        self._runs = 0

    def start(self) -> Daemon:
        self._runs += 1
        self.daemon = Daemon(self.info_file, self.state, self.work / f"daemon-{self._runs}.log",
                             env=self.env, auth="jwt")
        self.daemon.args[:3] = module_argv("service")  # mutmut's stats see what it runs
        return self.daemon.start()

    def close(self) -> None:
        if self.daemon is not None:
            self.daemon.stop_quietly()
        self.pubsub.close()
        if self._reader is not None:
            self._reader.close()

    # -- publishing ---------------------------------------------------------------------

    def record(self, kind: str, workspace_id: str, data: dict[str, Any] | str, at_s: float,
               email: str | None = "owner@acme.co.uk") -> dict[str, Any]:
        return {"CreatedDate": T0_MS, "CreatedById": self.info["user_id"],
                "Workspace_ID__c": workspace_id, "Email__c": email, "Event_Type__c": kind,
                "Event_Data__c": data if isinstance(data, str) else json.dumps(data),
                "Event_Timestamp__c": T0_MS + int(at_s * 1000)}

    def publish(self, *records: dict[str, Any]) -> list[str]:
        events = [self.pubsub.event(TRIAL_TOPIC, r, self.schema_id) for r in records]
        response = self.pubsub.publish(TRIAL_TOPIC, events)
        assert [r.error.msg for r in response.results if r.error.msg] == []
        return [e.id for e in events]

    # -- waiting and reading ------------------------------------------------------------

    def entries(self) -> list[InboxEntry]:
        try:
            if self.inbox_dsn is not None:  # read unfenced, as status and metrics do
                return [e for s in EntryStatus
                        for e in self._pg_reader().entries(s, limit=1_000_000)]
            with Inbox.open_readonly(inbox_path(self.state)) as inbox:
                return [e for s in EntryStatus for e in inbox.entries(s, limit=1_000_000)]
        except SubscriberError:
            return []

    def forget_applied(self) -> None:
        """Turn every applied entry back to pending (the daemon stopped), as if the inbox
        update after Salesforce's answer had never run."""
        if self.inbox_dsn is None:
            with sqlite3.connect(inbox_path(self.state)) as db:
                db.execute("UPDATE entries SET status = 'pending', error = '' "
                           "WHERE status = 'applied'")
            return
        import psycopg

        with psycopg.connect(self.inbox_dsn, autocommit=True) as conn:
            conn.execute("UPDATE lsync_entries SET status = 'pending', error = '' "
                         "WHERE status = 'applied'")

    def _pg_reader(self) -> PgInbox:
        if self._reader is None:
            from subscriber.inbox_pg import open_pg_inbox

            assert self.inbox_dsn is not None
            self._reader = open_pg_inbox(self.inbox_dsn, pool_size=1)
        return self._reader

    def wait_done(self, event_ids: list[str], timeout_s: float = 60.0) -> dict[str, InboxEntry]:
        """The inbox entries of ``event_ids`` once none of them is pending."""
        def done() -> dict[str, InboxEntry] | None:
            found = {e.event_id: e for e in self.entries() if e.event_id in event_ids}
            if len(found) == len(event_ids) and all(
                    e.status is not EntryStatus.PENDING for e in found.values()):
                return found
            return None
        found: dict[str, InboxEntry] = wait_until(done, timeout_s,
                                                  f"{len(event_ids)} events applied")
        return found

    def wait_idle(self, timeout_s: float = 60.0) -> None:
        wait_until(lambda: not any(e.status is EntryStatus.PENDING for e in self.entries()),
                   timeout_s, "an idle inbox")

    def calls(self) -> int:
        org = self.emulator.context.org
        assert org is not None
        return int(org.counters.snapshot()["total"])

    def reset_calls(self) -> None:
        org = self.emulator.context.org
        assert org is not None
        org.counters.reset()

    def query(self, soql: str) -> list[dict[str, Any]]:
        return list(self.admin.query_all(soql)["records"])

    def workspace_by_id(self, workspace_id: str) -> dict[str, Any]:
        """The Workspace with this exact ID (hostile values are escaped by the test's SOQL)."""
        from handlers.soql import quote_literal

        return self.workspace(workspace_id, literal=quote_literal(workspace_id))

    def workspace(self, workspace_id: str, literal: str | None = None) -> dict[str, Any]:
        rows = self.query(
            "SELECT Id, Workspace_ID__c, Email__c, Self_Serve_Status__c, Trial_Start_Date__c, "
            "Trial_Expiration_Date__c, Plan_Type__c, MRR__c, Subscription_ID__c, "
            "Conversion_Date__c, Churn_Date__c, Churn_Reason__c, Last_Event_Time__c, "
            "Trial_History__c, Lead__c, Account__c, Contact__c, Needs_Review__c, "
            "Review_Reason__c FROM Workspace__c WHERE Workspace_ID__c = "
            + (literal or f"'{workspace_id}'"))
        assert len(rows) == 1, rows
        return rows[0]

    def gap(self, change_type: str, record_ids: list[str]) -> None:
        response = requests.post(f"{self.info['admin_url']}/faults/cdc/gap", timeout=30, json={
            "object": "Lead", "change_type": change_type, "record_ids": record_ids})
        response.raise_for_status()
