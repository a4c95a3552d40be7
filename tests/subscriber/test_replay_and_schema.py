"""A rejected replay ID under each policy; schema changes mid-stream; poison payloads."""

from __future__ import annotations

import io
import json
import logging
import uuid

import fastavro
import pytest
from helpers.inbox_places import BOTH_BACKENDS
from subscriber_harness import TRIAL, Harness, HarnessFactory, trial_record

from emulator.pubsub.store import NewEvent
from subscriber.errors import Fatal
from subscriber.events import EntryKind, EntryStatus
from subscriber.settings import ReplayPolicy

BOGUS = bytes.fromhex("00000001deadbeef0000")  # 10 bytes the server never issued


def _corrupt_checkpoint(h: Harness) -> None:
    h.inbox.advance_checkpoint(TRIAL, BOGUS)


@BOTH_BACKENDS
def test_fail_policy_stops_with_a_clear_message(
    harness_factory: HarnessFactory, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness_factory(on_invalid_replay="fail")
    _corrupt_checkpoint(h)
    failure = h.start().wait_failure()
    assert isinstance(failure, Fatal)
    text = str(failure)
    assert "replayid.corrupted" in failure.error_code
    assert BOGUS.hex() in text
    assert "72-hour" in text
    assert "'earliest'" in text
    assert "'latest'" in text
    assert "skipped" in text
    assert h.inbox.checkpoint(TRIAL).replay_id == BOGUS, "checkpoint must be left alone"
    assert h.hooks.rejections == [(TRIAL, BOGUS, ReplayPolicy.FAIL)]
    # Not logged here: the Fatal carries the message to whoever stops on it, which logs it
    # once (issue 15: one log line per fatal error; see test_first_run_daemon).
    assert not any(BOGUS.hex() in r.getMessage() for r in caplog.records)


@BOTH_BACKENDS
def test_earliest_policy_replays_the_retained_events(
    harness_factory: HarnessFactory, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness_factory(on_invalid_replay="earliest")
    h.publish_trials(3)
    _corrupt_checkpoint(h)
    h.start()
    h.wait_count(TRIAL, 3)
    h.stop()
    assert h.hooks.rejections == [(TRIAL, BOGUS, ReplayPolicy.EARLIEST)]
    assert h.inbox.checkpoint(TRIAL).replay_id not in (None, BOGUS)
    assert any(r.levelno >= logging.ERROR and "EARLIEST" in r.getMessage()
               for r in caplog.records)


@BOTH_BACKENDS
def test_latest_policy_skips_to_new_events_loudly(
    harness_factory: HarnessFactory, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness_factory(on_invalid_replay="latest")
    h.publish_trials(3)
    _corrupt_checkpoint(h)
    h.start()
    h.wait_for(lambda: h.inbox.checkpoint(TRIAL).replay_id != BOGUS, "a new checkpoint")
    h.publish_trials(2, start=3)
    h.wait_count(TRIAL, 2)
    h.stop()
    assert [e.payload["Workspace_ID__c"] for e in h.inbox.pending(topic=TRIAL) if e.payload] == [
        "w3", "w4"]
    assert h.hooks.rejections == [(TRIAL, BOGUS, ReplayPolicy.LATEST)]
    assert any(r.levelno >= logging.ERROR and "SKIPPED" in r.getMessage() for r in caplog.records)


@BOTH_BACKENDS
def test_schema_change_mid_stream(harness_factory: HarnessFactory) -> None:
    h = harness_factory().start()
    bus = h.emu.context.bus
    h.publish_trials(2)
    h.wait_count(TRIAL, 2)
    old_id = bus.store.topic(TRIAL)[1]  # type: ignore[index]
    schema = json.loads(bus.store.schema(old_id)[1])  # type: ignore[index]
    schema["fields"].append({"name": "Plan__c", "type": ["null", "string"], "default": None})
    new_id = bus.define_topic(TRIAL, schema)
    assert new_id != old_id
    bus.publish_record(TRIAL, trial_record(2, Plan__c="pro"))
    h.wait_count(TRIAL, 3)
    h.stop()
    entries = h.inbox.pending(topic=TRIAL)
    assert [e.schema_id for e in entries] == [old_id, old_id, new_id]
    assert entries[-1].payload is not None
    assert entries[-1].payload["Plan__c"] == "pro"
    assert "Plan__c" not in (entries[0].payload or {})


@BOTH_BACKENDS
@pytest.mark.parametrize("corrupt", [b"\xff\xff\xff", None], ids=["garbage", "trailing-bytes"])
def test_poison_payload_is_kept_and_the_stream_goes_on(
    harness_factory: HarnessFactory, corrupt: bytes | None
) -> None:
    h = harness_factory().start()
    store = h.emu.context.bus.store
    sid = store.topic(TRIAL)[1]  # type: ignore[index]
    if corrupt is None:  # a valid record followed by junk
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, h.emu.context.bus.parsed_schema(sid), trial_record(9))
        corrupt = buf.getvalue() + b"\x00\x01"
    bad_id = str(uuid.uuid4())
    store.append(TRIAL, [NewEvent(bad_id, sid, corrupt)])  # bypasses publish validation
    h.publish_trials(1)
    h.wait_count(TRIAL, 1)
    h.wait_count(TRIAL, 1, EntryStatus.POISON)
    h.stop()
    [poison] = h.inbox.entries(EntryStatus.POISON, topic=TRIAL)
    assert poison.kind is EntryKind.UNDECODABLE
    assert poison.event_id == bad_id
    assert poison.raw == corrupt
    assert sid in poison.error
    assert corrupt.hex() not in poison.error
    assert [b[1].poison for b in h.hooks.batches if b[0] == TRIAL and b[1].poison] == [1]
