"""Events that decode oddly or not at all: stored safely, reported once per kind, cheaply."""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
import logging
import uuid
from typing import Any

import fastavro
import pytest
from helpers.inbox_places import BOTH_BACKENDS
from subscriber_harness import TRIAL, HarnessFactory, trial_record

from emulator.pubsub.store import NewEvent
from subscriber.events import EntryStatus, UndecodableEvent
from subscriber.poison import PoisonReporter

LOGICAL_FIELDS = [
    {"name": "Amount__c", "type": ["null", {"type": "bytes", "logicalType": "decimal",
                                            "precision": 18, "scale": 2}], "default": None},
    {"name": "Seen_At__c", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}],
     "default": None},
    {"name": "Day__c", "type": ["null", {"type": "int", "logicalType": "date"}], "default": None},
    {"name": "Ref__c", "type": ["null", {"type": "string", "logicalType": "uuid"}],
     "default": None},
]


@BOTH_BACKENDS
def test_logical_types_are_stored_and_the_stream_goes_on(harness_factory: HarnessFactory) -> None:
    """Decimal, timestamp, date and UUID values used to escape json.dumps as a TypeError that
    stopped the intake (and the daemon, exit 1) before any later event could land."""
    h = harness_factory().start()
    bus = h.emu.context.bus
    schema = json.loads(bus.store.schema(bus.store.topic(TRIAL)[1])[1])  # type: ignore[index]
    schema["fields"].extend(LOGICAL_FIELDS)
    bus.define_topic(TRIAL, schema)
    seen_at = dt.datetime(2024, 5, 1, 12, 30, 15, 250000, tzinfo=dt.UTC)
    ref = uuid.UUID("12345678-1234-5678-1234-567812345678")
    bus.publish_record(TRIAL, trial_record(0, Amount__c=decimal.Decimal("12.50"),
                                           Seen_At__c=seen_at, Day__c=seen_at.date(), Ref__c=ref))
    bus.publish_record(TRIAL, trial_record(1))
    h.wait_count(TRIAL, 2)
    h.stop()
    first, second = (e.payload or {} for e in h.inbox.pending(topic=TRIAL))
    assert (first["Amount__c"], first["Seen_At__c"], first["Day__c"], first["Ref__c"]) == (
        "12.50", "2024-05-01T12:30:15.250000+00:00", "2024-05-01", str(ref))
    assert second["Workspace_ID__c"] == "w1"
    assert h.count(TRIAL, EntryStatus.POISON) == 0


def _encode(h: Any, sid: str, i: int) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, h.emu.context.bus.parsed_schema(sid), trial_record(i))
    return buf.getvalue()


def test_poison_is_reported_once_per_class_and_an_unknown_schema_fetched_once(
    harness_factory: HarnessFactory, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """30 poison events over many small batches: one ERROR per (topic, error class), not one
    per batch; one GetSchema per unknown schema ID, not one per event."""
    h = harness_factory(batch_size=5)
    store = h.emu.context.bus.store
    sid = store.topic(TRIAL)[1]  # type: ignore[index]
    unknown = ["0NopeA", "0NopeB", "0NopeC"]
    asked: list[str] = []
    real_schema = store.schema

    def counting(schema_id: str) -> tuple[str, str] | None:
        if schema_id in unknown:
            asked.append(schema_id)
        return real_schema(schema_id)

    monkeypatch.setattr(store, "schema", counting)
    events = [NewEvent(str(uuid.uuid4()), unknown[i % 3], _encode(h, sid, i)) for i in range(20)]
    events += [NewEvent(str(uuid.uuid4()), sid, b"\xff\xff\xff") for _ in range(10)]
    store.append(TRIAL, events)
    h.start()
    h.publish_trials(1, start=99)
    h.wait_count(TRIAL, 30, EntryStatus.POISON)
    h.wait_count(TRIAL, 1)
    h.stop()
    assert sorted(asked) == unknown
    poison_errors = [r for r in caplog.records
                     if r.levelno >= logging.ERROR and "poison" in r.getMessage()]
    assert len(poison_errors) == 2, [r.getMessage() for r in poison_errors]
    assert {"unknown schema", "undecodable payload"} == {
        c for r in poison_errors for c in ("unknown schema", "undecodable payload")
        if f"({c})" in r.getMessage()}
    summaries = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING
                 and "more poison entries" in r.getMessage()]
    assert len(summaries) <= 2, summaries  # at most one per class, at stop


def test_poison_counts_in_the_summaries_are_exact(caplog: pytest.LogCaptureFixture) -> None:
    """The first entry of a class is logged at ERROR; later ones are summarised at WARNING no
    more than once per interval, with how many are new and how many since start."""
    caplog.set_level(logging.WARNING, logger="subscriber.poison")
    now = [1000.0]
    reporter = PoisonReporter(interval_s=600.0, clock=lambda: now[0])

    def bad(n: int) -> UndecodableEvent:
        return UndecodableEvent(topic=TRIAL, replay_id=bytes([n]), event_id=f"e{n}",
                                schema_id="s", raw=b"", error="boom", error_class="bad avro")

    def messages() -> list[tuple[int, str]]:
        found = [(r.levelno, r.getMessage()) for r in caplog.records]
        caplog.clear()
        return found

    reporter.report(TRIAL, [bad(1)])
    [(level, first)] = messages()
    assert level == logging.ERROR
    assert "poison entry (bad avro): boom" in first
    reporter.report(TRIAL, [bad(2), bad(3), bad(4)])
    assert messages() == []  # counted, not logged: the interval has not passed
    now[0] += 601.0
    reporter.report(TRIAL, [bad(5)])
    assert messages() == [(logging.WARNING, f"{TRIAL}: 4 more poison entries (bad avro) in the "
                           "last 601 s, 5 since start; they are in the inbox with status poison")]
    reporter.flush()
    assert messages() == []  # nothing unreported
    now[0] += 10.0
    reporter.report(TRIAL, [bad(6), bad(7)])
    assert messages() == []
    reporter.flush()
    assert messages() == [(logging.WARNING, f"{TRIAL}: 2 more poison entries (bad avro) in the "
                           "last 10 s, 7 since start; they are in the inbox with status poison")]
