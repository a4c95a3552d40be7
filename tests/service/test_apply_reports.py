"""The apply loop's reporter writes the last error once per cycle, not once per problem: each
write is an fsync'd commit, and in a backlog of bad events they kept the intake's commits
waiting for the inbox."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from service.apply_reports import LAST_ERROR_KEY, Reporter
from subscriber.inbox import Inbox


class CountingInbox(Inbox):
    """A real SQLite inbox that counts the reporter's writes."""

    writes = 0

    def set_meta(self, key: str, value: str) -> None:
        self.writes += 1
        super().set_meta(key, value)


def test_a_cycles_problems_are_all_logged_and_only_the_last_is_recorded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    problems = [("bad mrr", "a@example.com: mrr is missing"), ("bad mrr", "again"),
                ("missing churn_date", "churn_date is missing")]
    with CountingInbox(tmp_path / "inbox.db") as inbox, caplog.at_level(logging.DEBUG):
        Reporter(inbox).report_all(problems, {"topic": "t"})
        assert inbox.writes == 1
        last = json.loads(inbox.meta(LAST_ERROR_KEY) or "{}")
        Reporter(inbox).report_all([])
        assert inbox.writes == 1  # nothing to record, nothing written
    assert last["class"] == "missing churn_date"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["apply: bad mrr: <email>: mrr is missing (reported once per error "
                        "class)", "apply: missing churn_date: churn_date is missing (reported "
                        "once per error class)"]
