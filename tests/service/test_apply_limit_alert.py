"""An API-limit pause is alerted to Sentry once per episode (R9's criterion): mark_paused says
which call began the pause, and the reporter's alert goes out every time it is asked, unlike
report(), which tells Sentry of each error class once per process."""

from __future__ import annotations

from pathlib import Path

from handlers.errors import RequestLimited
from service.apply_reports import Reporter
from service.apply_settings import mark_paused, mark_resumed
from subscriber.inbox import Inbox


def test_only_the_call_that_begins_a_pause_says_so_once_per_episode(tmp_path: Path) -> None:
    limited = RequestLimited("REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.")
    with Inbox(tmp_path / "inbox.db") as inbox:
        began = [mark_paused(inbox, limited, 1.0) for _ in range(3)]
        mark_resumed(inbox)
        again = mark_paused(inbox, limited, 1.0)
    assert began == [True, False, False]
    assert again is True


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
