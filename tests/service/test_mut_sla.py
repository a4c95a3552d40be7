"""The sync SLA's episodes as an operator sees them (the gauge's changes and the state
``status`` reads from the inbox, a real SQLite file): one breach per episode, cleared once,
and a second episode raised again (mutation testing found the episode reset unpinned)."""

from __future__ import annotations

import json
from pathlib import Path

from service.config import SlaConfig
from service.sla import SLA_KEY, SlaMonitor, sla_line
from subscriber.inbox import Inbox


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_a_second_breach_after_a_clear_is_raised_again(tmp_path: Path) -> None:
    age: list[float | None] = [None]
    changes: list[bool] = []
    clock = Clock()
    with Inbox(tmp_path / "inbox.db") as inbox:
        sla = SlaMonitor(SlaConfig(publish_to_applied_s=60.0, parked_errors_max=0,
                                   check_interval_s=30.0),
                         lambda: age[0], None, inbox, on_change=changes.append, clock=clock)
        age[0] = 90.0
        assert sla.check() == ["the oldest pending event has waited 90.0 s since it was "
                               "published (SLA 60 s)"]
        assert sla.check() != []  # still breached: not raised twice
        clock.now = 1_100.0
        age[0] = 5.0
        assert sla.check() == []
        cleared = json.loads(inbox.meta(SLA_KEY) or "null")
        assert cleared == {"breached": False, "since": 1_000.0, "cleared_at": 1_100.0}
        assert sla.check() == []  # met: cleared once only
        clock.now = 1_200.0
        age[0] = 61.0
        assert sla.check() != []
        again = json.loads(inbox.meta(SLA_KEY) or "null")
    assert changes == [True, False, True]
    assert again["breached"] is True
    assert again["since"] == 1_200.0
    assert sla_line(cleared) == "sync SLA: met (last breach 1970-01-01T00:16:40Z to " \
                                "1970-01-01T00:18:20Z)"


def test_a_restart_inside_a_breach_sets_the_gauge_and_clears_it_later(tmp_path: Path) -> None:
    changes: list[bool] = []
    clock = Clock()
    with Inbox(tmp_path / "inbox.db") as inbox:
        inbox.set_meta(SLA_KEY, json.dumps({"breached": True, "since": 900.0, "reasons": []}))
        sla = SlaMonitor(SlaConfig(parked_errors_max=0), lambda: None, None, inbox,
                         on_change=changes.append, clock=clock)
        assert changes == [True]
        assert sla.check() == []
        state = json.loads(inbox.meta(SLA_KEY) or "null")
    assert changes == [True, False]
    assert state == {"breached": False, "since": 900.0, "cleared_at": 1_000.0}


def test_parked_errors_over_the_limit_breach_and_the_last_count_is_kept(tmp_path: Path) -> None:
    counts: list[int | None] = [7]
    with Inbox(tmp_path / "inbox.db") as inbox:
        sla = SlaMonitor(SlaConfig(parked_errors_max=5), lambda: None, lambda: counts[0],
                         inbox, clock=Clock())
        assert sla.check() == ["7 Event_Cache__c rows parked in Error (at most 5)"]
        counts[0] = None  # no new figure stored: the last one still holds
        assert sla.check() == ["7 Event_Cache__c rows parked in Error (at most 5)"]
        counts[0] = 5
        assert sla.check() == []
