"""One alert per full-disk episode (R13), however many topics and apply workers are refused
and however often they retry; readiness names the episode while it lasts."""

from __future__ import annotations

import logging

import pytest

from service.inbox_full_episode import FullInboxEpisode
from subscriber.errors import InboxFull

FULL = InboxFull("inbox write failed (x): database or disk is full; nothing was lost")


def test_one_warning_and_one_report_per_episode(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    reports: list[tuple[str, str, str]] = []
    episode = FullInboxEpisode(clock=lambda: now[0],
                               report=lambda *a: reports.append(a))
    caplog.set_level(logging.INFO, "lifecycle_sync.inbox")
    for _ in range(5):
        episode.full("/event/A", FULL)
        episode.full("apply", FULL)
    now[0] = 130.0
    assert "(/event/A, apply) for 30 s" in episode.problem()
    episode.writable("/event/A")
    assert episode.problem(), "apply is still refused"
    episode.writable("apply")
    episode.writable("apply")  # no episode: nothing to say
    assert episode.problem() == ""
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert len(warnings) == 1
    assert "intake paused" in warnings[0].getMessage()
    assert infos == ["inbox writable again after 30 s: resumed (intake from its checkpoint, "
                     "apply with the entries still pending), nothing lost"]
    assert [r[:2] for r in reports] == [("inbox", "InboxFull")]

    episode.full("/event/A", FULL)  # a new episode is alerted again
    assert len(reports) == 2
    assert episode.episodes == 2


def test_an_episode_only_apply_was_refused_in_does_not_say_intake_paused(
        caplog: pytest.LogCaptureFixture) -> None:
    reports: list[tuple[str, str, str]] = []
    episode = FullInboxEpisode(report=lambda *a: reports.append(a))
    caplog.set_level(logging.WARNING, "lifecycle_sync.inbox")
    episode.full("apply", FULL)
    [warning] = [r.getMessage() for r in caplog.records]
    assert "intake paused" not in warning
    assert "applying paused: no apply cycle is claimed" in warning
    assert reports[0][2] == warning
