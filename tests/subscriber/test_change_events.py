"""LeadChangeEvent: headers decoded, bitmaps turned into names, GAP events recognised, and
change events deduplicated by transactionKey + sequenceNumber."""

from __future__ import annotations

import uuid
from typing import Any

import requests
from helpers.inbox_places import BOTH_BACKENDS
from subscriber_harness import LEAD, HarnessFactory

from emulator.org.cdc import ChangeDataCapture
from emulator.org.changes import RecordChange, Transaction
from emulator.server import Emulator
from subscriber.events import EntryKind

LEAD_ID = "00Q000000000001AAA"


def _update(emu: Emulator, before: dict[str, Any], after: dict[str, Any]) -> None:
    ctx = emu.context
    change = RecordChange(
        object_name="Lead", change_type="UPDATE", record_id=LEAD_ID, before=before, after=after,
        changed_fields=frozenset(after), user_id=ctx.identity.integration_user_id,
        origin="com/salesforce/api/rest/62.0", commit_timestamp_ms=1_760_000_000_000,
    )
    ChangeDataCapture(ctx.bus, ctx.catalog)(Transaction(str(uuid.uuid4()), (change,)))


def _header(change_type: str, key: str = "", seq: int = 1) -> dict[str, Any]:
    return {
        "entityName": "Lead", "recordIds": [LEAD_ID], "changeType": change_type,
        "changeOrigin": "", "transactionKey": key or str(uuid.uuid4()), "sequenceNumber": seq,
        "commitTimestamp": 1_760_000_000_000, "commitNumber": 2**62, "commitUser": "005x",
        "nulledFields": [], "diffFields": [], "changedFields": [],
    }


@BOTH_BACKENDS
def test_update_bitmaps_decode_to_field_names(harness_factory: HarnessFactory) -> None:
    h = harness_factory().start()
    _update(
        h.emu,
        before={"LastName": "Old", "Email": "a@example.com", "Phone": "1", "City": "Oslo"},
        after={"LastName": "New", "Email": "b@example.com", "Phone": None, "City": "Bergen",
               "LastModifiedDate": 1_760_000_000_000},
    )
    h.wait_count(LEAD, 1)
    h.stop()
    [entry] = h.inbox.pending(topic=LEAD)
    assert entry.kind is EntryKind.CHANGE
    assert entry.change is not None
    change = entry.change
    assert (change.entity_name, change.change_type, change.record_ids) == ("Lead", "UPDATE",
                                                                           (LEAD_ID,))
    assert change.changed_fields == (
        "Phone", "Email", "LastModifiedDate", "Name.LastName", "Address.City",
    )
    assert change.nulled_fields == ("Phone",)
    assert change.diff_fields == ()
    assert entry.dedupe_key == f"txn:{change.transaction_key}:{change.sequence_number}"


@BOTH_BACKENDS
def test_gap_and_overflow_events_are_recognised(harness_factory: HarnessFactory) -> None:
    h = harness_factory().start()
    admin = h.emu.info()["admin_url"] + "/faults/cdc/gap"
    for body in ({"change_type": "GAP_UPDATE", "record_ids": [LEAD_ID]},
                 {"change_type": "GAP_OVERFLOW"}):
        response = requests.post(admin, json=body, timeout=10)
        assert response.status_code == 200, response.text
    h.wait_count(LEAD, 2)
    h.stop()
    gap, over = h.inbox.pending(topic=LEAD)
    assert gap.kind is EntryKind.GAP
    assert gap.change is not None
    assert gap.change.is_gap
    assert gap.change.record_ids == (LEAD_ID,)
    assert over.kind is EntryKind.GAP_OVERFLOW
    assert over.change is not None
    assert over.change.is_overflow
    assert over.change.record_ids == ("000000000000000AAA",)


@BOTH_BACKENDS
def test_change_events_deduplicated_by_transaction_and_sequence(
    harness_factory: HarnessFactory,
) -> None:
    h = harness_factory().start()
    bus = h.emu.context.bus
    key = str(uuid.uuid4())
    for seq in (1, 1, 2):  # the second one is a duplicate with a different event ID
        bus.publish_record(LEAD, {"ChangeEventHeader": _header("UPDATE", key, seq)})
    h.wait_for(
        lambda: sum(s.stored + s.duplicates for t, s in h.hooks.batches if t == LEAD) >= 3,
        "three lead events fetched",
    )
    h.stop()
    assert [e.change.sequence_number for e in h.inbox.pending(topic=LEAD) if e.change] == [1, 2]
    assert sum(s.duplicates for t, s in h.hooks.batches if t == LEAD) == 1
