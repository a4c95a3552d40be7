"""A cycle's problems cost one inbox write, not one fsync'd transaction per parked event."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from service.apply_reports import LAST_ERROR_KEY, Reporter
from subscriber.inbox import Inbox


class CountingInbox(Inbox):
    """A real inbox file that counts its meta writes (each is one committed transaction)."""

    meta_writes = 0

    def set_meta(self, key: str, value: str) -> None:
        self.meta_writes += 1
        super().set_meta(key, value)


def test_a_cycles_problems_are_each_logged_once_per_class_and_recorded_in_one_write(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="lifecycle_sync.apply")
    problems = [("missing trial_expiration", f"event {n} has none") for n in range(150)]
    problems.append(("bad mrr", "Event_Data__c.mrr is missing; owner jane@example.com"))
    with CountingInbox(tmp_path / "inbox.db") as inbox:
        Reporter(inbox).report_all(problems)
        assert inbox.meta_writes == 1
        last = json.loads(inbox.meta(LAST_ERROR_KEY) or "{}")
    assert last["class"] == "bad mrr"
    assert "jane@example.com" not in last["message"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert sum("missing trial_expiration" in r.getMessage() for r in caplog.records) == 150


def test_no_problems_write_nothing(tmp_path: Path) -> None:
    with CountingInbox(tmp_path / "inbox.db") as inbox:
        Reporter(inbox).report_all([])
        assert inbox.meta_writes == 0
        assert inbox.meta(LAST_ERROR_KEY) is None
