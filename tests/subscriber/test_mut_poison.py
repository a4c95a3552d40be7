"""Poison summaries: each (topic, error class) with entries not yet reported is summarised,
whatever the classes before it in the tally had to say."""

from __future__ import annotations

import logging

import pytest

from subscriber.events import UndecodableEvent
from subscriber.poison import PoisonReporter

TOPIC = "/event/SelfServeTrialEvent__e"


def _poison(n: int, error_class: str) -> UndecodableEvent:
    return UndecodableEvent(TOPIC, bytes([n]), f"uuid-{n}", "schema", b"raw", "bad payload",
                            error_class)


def test_stopping_summarises_a_class_listed_after_one_with_nothing_new(
        caplog: pytest.LogCaptureFixture) -> None:
    reporter = PoisonReporter(interval_s=600.0, clock=lambda: 0.0)
    reporter.report(TOPIC, [_poison(1, "UnknownSchema")])  # first of its class: ERROR only
    reporter.report(TOPIC, [_poison(2, "BadAvro"), _poison(3, "BadAvro")])
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="subscriber.poison"):
        reporter.flush()
    summaries = [r.getMessage() for r in caplog.records]
    assert len(summaries) == 1
    assert "1 more poison entries (BadAvro)" in summaries[0]
