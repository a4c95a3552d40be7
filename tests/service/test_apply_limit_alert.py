"""An API-limit pause is alerted to Sentry once per episode (R9's criterion): the reporter's
alert goes out every time it is asked, unlike report(), which tells Sentry of each error class
once per process. Which call begins an episode (and so alerts) is counted at the ApplyLoop in
tests/handlers/test_apply_limit_episodes.py."""

from __future__ import annotations

from pathlib import Path

from service.apply_reports import Reporter
from subscriber.inbox import Inbox


def test_an_alert_reaches_sentry_each_time_scrubbed_and_untagged(tmp_path: Path) -> None:
    told: list[tuple[str, str, object]] = []
    with Inbox(tmp_path / "inbox.db") as inbox:
        reporter = Reporter(inbox, lambda cls, msg, tags: told.append((cls, msg, tags)))
        reporter.report("REQUEST_LIMIT_EXCEEDED", "first")
        reporter.alert("REQUEST_LIMIT_EXCEEDED", "paused for ops@example.com")
        reporter.alert("REQUEST_LIMIT_EXCEEDED", "paused again")
    assert told == [("REQUEST_LIMIT_EXCEEDED", "first", {}),
                    ("REQUEST_LIMIT_EXCEEDED", "paused for <email>", {}),
                    ("REQUEST_LIMIT_EXCEEDED", "paused again", {})]
