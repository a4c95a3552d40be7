"""The intake's one INFO line per committed batch: how many landed, on which topic, and the
first and last replay ID (mutation testing found the last ID unpinned), and the text log
format every line goes through (one line per record, whatever the message holds)."""

from __future__ import annotations

import logging

import pytest
from helpers.decoded_events import trial_event

from service.logging_setup import ScrubbingFormatter, scrub_text
from service.progress import DaemonHooks, log_batch
from subscriber.events import BatchStats

TOPIC = "/event/SelfServeTrialEvent__e"



@pytest.mark.parametrize(("count", "last"), [(1, "0001"), (3, "0003")])
def test_a_committed_batch_is_one_info_line_with_its_first_and_last_replay_id(
        caplog: pytest.LogCaptureFixture, count: int, last: str) -> None:
    landed = tuple(trial_event(n, 2) for n in range(1, count + 1))
    with caplog.at_level(logging.INFO, "lifecycle_sync"):
        log_batch(TOPIC, BatchStats(stored=count, duplicates=2, poison=0, landed=landed))
    assert [r.getMessage() for r in caplog.records] == [
        f"landed {count} topic={TOPIC} duplicates=2 poison=0 replay_ids=0001..{last}"]


def test_a_batch_that_added_nothing_logs_nothing_at_info(caplog: pytest.LogCaptureFixture
                                                         ) -> None:
    with caplog.at_level(logging.INFO, "lifecycle_sync"):
        log_batch(TOPIC, BatchStats(stored=0, duplicates=5, poison=0))
    assert caplog.records == []


def test_a_text_log_record_is_one_line_with_a_utc_timestamp() -> None:
    record = logging.LogRecord("lifecycle_sync.x", logging.WARNING, __file__, 1,
                               "first\r\nsecond\nthird", (), None)
    record.created, record.msecs = 1_796_029_200.5, 500.0
    assert ScrubbingFormatter().format(record) == (
        "2026-11-30T09:00:00.500Z WARNING lifecycle_sync.x: first | second | third")


def test_a_topic_quiet_past_stale_after_s_is_alive_again_once_resubscribed() -> None:
    now = [0.0]
    hooks = DaemonHooks([TOPIC], stale_after_s=60.0, clock=lambda: now[0])
    assert hooks.alive()
    now[0] = 61.0
    assert not hooks.alive()  # no sign of life for longer than stale_after_s
    hooks.subscribed(TOPIC)  # the stream is back after a reconnect
    assert hooks.alive()
    now[0] = 122.0
    hooks.keepalive(TOPIC, b"\x01")
    assert hooks.alive()


def test_query_strings_of_urls_are_masked_in_what_leaves_the_process() -> None:
    assert scrub_text("GET https://org.my.salesforce.com/services/data/v60.0/query?q=SELECT+"
                      "Id+FROM+Lead+WHERE+Email%3D%27ann%40acme.example%27 failed") == (
        "GET https://org.my.salesforce.com/services/data/v60.0/query?[query] failed")
