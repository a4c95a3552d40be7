"""Shadow mode's writes as a pilot sees them: each one counted by operation and object and
logged with its key and field names (never values), and answered as Salesforce would, with
obviously fake IDs; the shadow inbox's watermark (a real inbox file) only moves forward.
Mutation testing found the convert and task paths and the watermark unpinned."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from handlers.plan import ConvertRequest
from service.shadow import WATERMARK_KEY, ShadowGateway, ShadowInbox
from subscriber.inbox import Inbox


def shadow(counted: list[tuple[str, str]]) -> ShadowGateway:
    # the real gateway is only read through (lookups); these writes never reach it
    return ShadowGateway(Any, lambda op, obj: counted.append((op, obj)), b"k" * 32)  # type: ignore[arg-type]


def test_a_conversion_is_counted_logged_and_answered_with_fake_ids(
        caplog: pytest.LogCaptureFixture) -> None:
    counted: list[tuple[str, str]] = []
    with caplog.at_level(logging.INFO, logger="lifecycle_sync.shadow"):
        done, failed = shadow(counted).convert([ConvertRequest("00Q1", None, None),
                                                ConvertRequest("00Q2", "001A", "003C")])
    assert failed == {}
    assert counted == [("convert", "Lead"), ("convert", "Lead")]
    assert [r.getMessage() for r in caplog.records] == [
        "shadow: would convert Lead key=00Q1 fields=AccountId,ContactId",
        "shadow: would convert Lead key=00Q2 fields=AccountId,ContactId"]
    first = done["00Q1"]
    assert first.is_converted is True
    assert first.converted_account_id is not None
    assert first.converted_account_id.startswith("001SHADOW")
    assert len(first.converted_account_id) == 18
    assert first.converted_contact_id is not None
    assert first.converted_contact_id.startswith("003SHADOW")
    assert (done["00Q2"].converted_account_id, done["00Q2"].converted_contact_id) == (
        "001A", "003C")


def test_tasks_and_upserts_are_counted_and_logged_by_field_name_only(
        caplog: pytest.LogCaptureFixture) -> None:
    counted: list[tuple[str, str]] = []
    gateway = shadow(counted)
    with caplog.at_level(logging.INFO, logger="lifecycle_sync.shadow"):
        assert gateway.create_tasks([{"WhatId": "a01X", "Subject": "Trial ends",
                                      "Description": "ann@acme.example"}]) == []
        result = gateway.write({"ws-1": {"Plan_Type__c": "Team"}},
                               {"uuid-1": {"Processing_Status__c": "New"}})
    assert (result.workspace_errors, result.cache_errors) == ({}, {})  # nothing refused
    assert counted == [("create", "Task"), ("upsert", "Workspace__c"),
                       ("upsert", "Event_Cache__c")]
    assert [r.getMessage() for r in caplog.records] == [
        "shadow: would create Task key=a01X fields=Description,Subject,WhatId",
        "shadow: would upsert Workspace__c key=ws-1 fields=Plan_Type__c",
        "shadow: would upsert Event_Cache__c key=uuid-1 fields=Processing_Status__c"]


def test_the_shadow_watermark_only_moves_forward_and_is_kept(tmp_path: Path) -> None:
    with Inbox(tmp_path / "inbox.db") as inbox:
        shadowed = ShadowInbox(inbox)
        assert shadowed.mark_done([3, 5], {4: "parked"}) == 3
        assert shadowed.mark_poison([2], "bad") == 1  # an older entry: no step back
        assert inbox.meta(WATERMARK_KEY) == "5"
        assert ShadowInbox(inbox).watermark == 5
