"""The jobs' reads of the local inbox: a parked Trial's email."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from scheduler.job_inbox import InboxPlace
from scheduler.local_inbox import emails_by_event
from subscriber.events import DecodedEvent, EntryKind
from subscriber.inbox import Inbox

TOPIC = "/event/SelfServeTrialEvent__e"


def _event(n: int, workspace: str, data: dict, at_ms: int) -> DecodedEvent:
    payload = {"Event_Type__c": "Trial", "Workspace_ID__c": workspace,
               "Email__c": f"user{n}@acme.co.uk", "Event_Data__c": json.dumps(data),
               "Event_Timestamp__c": at_ms}
    return DecodedEvent(TOPIC, n.to_bytes(2, "big"), f"uuid-{n}", "s", EntryKind.EVENT, payload)


@pytest.fixture(params=["sqlite", "postgres"])
def landed(request: pytest.FixtureRequest, tmp_path: Path
           ) -> Iterator[tuple[object, InboxPlace]]:
    """(inbox, where the jobs read it): the SQLite file, or the PostgreSQL tables."""
    if request.param == "sqlite":
        with Inbox(tmp_path / "inbox.db") as inbox:
            yield inbox, tmp_path / "inbox.db"
        return
    import psycopg

    from scheduler.job_inbox import PgJobInbox
    from subscriber.inbox_pg import open_pg_inbox
    from subscriber.pg_schema import upgrade

    dsn = request.getfixturevalue("pg_dsn")
    with psycopg.connect(dsn, autocommit=True) as conn:
        upgrade(conn)
    with open_pg_inbox(dsn, pool_size=2) as pg:
        yield pg, PgJobInbox(pg.pool, None)


def test_emails_of_parked_events(landed: tuple[Inbox, InboxPlace]) -> None:
    inbox, path = landed
    inbox.store_batch(TOPIC, [
        _event(1, "WS-1", {"trial_expiration": "2026-12-31", "seats": 3, "plan": "x"}, 2000),
        _event(2, "ws-1", {"trial_expiration": "2026-12-31", "seats": 9,
                           "usage": {"projects": 4, "active": True}}, 1000),  # older
        _event(3, "ws-2", {"trial_expiration": "2026-12-31", "usage": {"projects": 7}},
               5000),
    ], b"\x03")
    assert emails_by_event(path, ["uuid-1", "uuid-3", "uuid-9"]) == {
        "uuid-1": "user1@acme.co.uk", "uuid-3": "user3@acme.co.uk"}
    assert emails_by_event(path, []) == {}
