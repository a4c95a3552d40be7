"""Small decisions an operator meets in the output, each pinned by what it prints or returns
(mutation testing's held-out sample found these unpinned): the reconcile step for a gap under
``on_invalid_replay = fail``, ``jobs list`` for an unscheduled job, the login hints, a log
message's Sentry grouping without a logentry, readiness when a stream shows no life, and a
refused Lead-change half waiting for every other cycle."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "handlers"))
from entry_builders import TRIAL, change_entry, lifecycle_entry

from service.apply_batches import take_split
from service.gap_report import reconcile_hint
from service.health import Health
from service.hints import unreachable_login
from service.jobs_cmd import render
from service.sentry_scrub import fingerprint
from subscriber.inbox import Inbox

TRIAL_TOPIC = "/event/SelfServeTrialEvent__e"
LEADS = "/data/LeadChangeEvent"


def test_a_gap_under_the_fail_policy_says_how_to_restart_then_what_to_reconcile() -> None:
    gap = {"policy": "fail", "last_good_at": "2026-11-30T09:00:00+00:00"}
    assert reconcile_hint(TRIAL_TOPIC, gap) == (
        "the daemon stopped (on_invalid_replay = fail): run `lifecycle-sync replay --topic "
        f"{TRIAL_TOPIC} --from earliest` (what Salesforce still keeps is replayed) or "
        "`--from latest`, then: events published since 2026-11-30T09:00:00+00:00 older than "
        "Salesforce's retention were not received: re-publish them from the product "
        "(duplicates are dropped by EventUuid)")
    assert reconcile_hint(LEADS, {"policy": "earliest"}).startswith(
        "Lead changes since the topic's first event older than Salesforce's retention were "
        "not seen: check the Leads whose LastModifiedDate is on or after the topic's first ")
    assert reconcile_hint("/data/AccountChangeEvent", {}).startswith(
        "changes since the topic's first event older than Salesforce's retention")


def test_jobs_list_text_says_never_and_not_scheduled() -> None:
    rows = [{"job": "retention", "schedule": "daily at 03:00 UTC", "last_run": None,
             "result": None, "summary": "", "next_run": None},
            {"job": "retry-parked", "schedule": "every 5 min", "last_run": "2026-11-30T09:00",
             "result": "ok", "summary": "0 completed", "next_run": "2026-11-30T09:05"}]
    assert render(rows) == (
        "retention: daily at 03:00 UTC\n  last run never: -\n  next run not scheduled\n"
        "retry-parked: every 5 min\n  last run 2026-11-30T09:00: ok (0 completed)\n"
        "  next run 2026-11-30T09:05\n")


def test_an_unreachable_login_names_the_setting_to_check() -> None:
    assert unreachable_login("POST https://x/services/oauth2/token failed: certificate verify "
                             "failed", None) == (
        "; the system's CA roots do not trust that server: set pubsub.ca_file to the CA that "
        "signed it")
    assert unreachable_login("POST https://x/services/oauth2/token failed: certificate verify "
                             "failed", Path("/etc/ca.pem")) == (
        "; is pubsub.ca_file (/etc/ca.pem) the CA that signed the server at auth.login_url?")
    assert unreachable_login("GET https://i/userinfo failed: connection refused", None) == (
        "; is the instance URL the login named right (host and port), and reachable from here?")
    assert unreachable_login("HTTP 500", None) == ""


def test_a_message_event_without_a_logentry_is_grouped_by_its_message() -> None:
    assert fingerprint({"logger": "lifecycle_sync", "message": "sync SLA breached"}) == [
        "lifecycle-sync", "log", "lifecycle_sync", "sync SLA breached", ""]


class Idle:
    cycles = 0

    def waiting_by_design(self) -> bool:
        return False


def test_readiness_names_a_stream_that_shows_no_life(tmp_path: Path) -> None:
    Inbox(tmp_path / "inbox.db").close()
    health = Health([TRIAL_TOPIC], tmp_path / "inbox.db", Idle(), lambda: False,
                    paused=lambda: "paused: the disk refuses inbox writes")
    health.subscribed(TRIAL_TOPIC)
    assert health.problems() == ["a stream has shown no life recently",
                                 "paused: the disk refuses inbox writes"]


def test_a_refused_lead_change_half_waits_until_no_other_cycle_runs() -> None:
    change = change_entry("UPDATE", ("00Q1",), {"Email": "a@b.example"})
    splits = [[change]]
    assert take_split(splits, set(), running=1) is None
    assert splits == [[change]]  # kept for later
    batch = take_split(splits, set(), running=0)
    assert batch is not None
    assert batch.exclusive is True
    assert splits == []
    trial = lifecycle_entry("Trial", "ws-s", TRIAL, 1_790_000_000_000, email="s@split.example")
    other = take_split([[trial]], set(), running=1)  # a lifecycle half runs beside others
    assert other is not None
    assert other.exclusive is False
