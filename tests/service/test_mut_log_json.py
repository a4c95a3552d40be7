"""``--log-format json``: one JSON object per line with a UTC millisecond timestamp, the level,
logger, thread and scrubbed message (mutation testing found the timestamp unpinned)."""

from __future__ import annotations

import json
import logging

from service.log_json import JsonFormatter, resolve_format


def record(msg: str, level: int = logging.INFO) -> logging.LogRecord:
    made = logging.LogRecord("lifecycle_sync.x", level, __file__, 1, msg, (), None)
    made.created, made.msecs = 1_796_029_200.25, 250.0
    made.threadName = "apply-0"
    return made


def test_a_json_log_line_carries_a_utc_timestamp_with_milliseconds() -> None:
    line = json.loads(JsonFormatter().format(record("landed 3")))
    assert line == {"ts": "2026-11-30T09:00:00.250Z", "level": "INFO",
                    "logger": "lifecycle_sync.x", "thread": "apply-0", "msg": "landed 3"}


def test_a_json_log_line_never_carries_a_secret_or_an_email_at_info() -> None:
    text = JsonFormatter(["s3cr3t-token"]).format(
        record("login with s3cr3t-token for ann@acme.example"))
    assert "s3cr3t-token" not in text
    assert "ann@acme.example" not in text


def test_auto_means_json_under_journald_and_text_elsewhere() -> None:
    assert resolve_format("auto", {"JOURNAL_STREAM": "8:1234"}) == "json"
    assert resolve_format("auto", {}) == "text"
    assert resolve_format("text", {"JOURNAL_STREAM": "8:1234"}) == "text"
