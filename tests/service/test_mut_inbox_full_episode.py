"""A full disk under the inbox is one episode with one report that says what is paused and
that it resumes by itself (mutation testing found the report's wording unpinned)."""

from __future__ import annotations

from service.inbox_full_episode import FullInboxEpisode
from subscriber.errors import InboxFull


def test_one_report_per_episode_says_what_paused_and_that_it_resumes() -> None:
    reports: list[tuple[str, str, str]] = []
    now = [10.0]
    episode = FullInboxEpisode(clock=lambda: now[0],
                               report=lambda *r: reports.append(r))
    episode.full("apply", InboxFull("database or disk is full"))
    episode.full("/event/SelfServeTrialEvent__e", InboxFull("again"))
    assert reports == [("inbox", "InboxFull",
                        "the disk refused an inbox write (database or disk is full); applying "
                        "paused: no apply cycle is claimed (no Salesforce call) until an inbox "
                        "write goes through; the entries stay pending; retrying with backoff "
                        "and resuming by itself once there is room (free disk space)")]
    now[0] = 25.0
    assert episode.problem() == ("paused: the disk refuses inbox writes "
                                 "(/event/SelfServeTrialEvent__e, apply) for 15 s; retrying "
                                 "with backoff")
    episode.writable("apply")
    assert episode.problem() != ""  # the stream is still refused
    episode.writable("/event/SelfServeTrialEvent__e")
    assert episode.problem() == ""


def test_an_episode_started_by_a_stream_says_intake_paused() -> None:
    reports: list[tuple[str, str, str]] = []
    episode = FullInboxEpisode(report=lambda *r: reports.append(r))
    episode.full("/event/SelfServeTrialEvent__e", InboxFull("disk full"))
    assert reports[0][2] == (
        "the disk refused an inbox write (disk full); intake paused: no events are requested "
        "or acknowledged and the checkpoint stays put; retrying with backoff and resuming by "
        "itself once there is room (free disk space)")
    episode.writable("/event/SelfServeTrialEvent__e")
    episode.full("apply", InboxFull("disk full"))
    assert len(reports) == 2  # a new episode: reported again
    assert episode.episodes == 2
