"""The parked Error count the sync SLA judges is counted by the retry-parked job (one call per
run, on a scheduler thread) and stored in the inbox's meta table, never by the SLA monitor on
the watchdog's thread (B1)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from helpers.children import run_cli
from sched_rig import OrgRig

from service.apply_settings import PAUSED_KEY
from service.config import inbox_path
from service.parked_count import (
    PARKED_ERRORS_KEY,
    PARKED_ERRORS_SOQL,
    ParkedErrorCounter,
    stored_parked_errors,
)
from subscriber.errors import InboxFailed
from subscriber.inbox import Inbox


def test_jobs_run_retry_parked_stores_the_parked_error_count(org: OrgRig, tmp_path: Path
                                                             ) -> None:
    for n in range(2):  # given up on: not due, still Error
        org.create("Event_Cache__c", Event_Uuid__c=f"gave-up-{n}", Event_Type__c="Churn",
                   Processing_Status__c="Error", Retry_Count__c=8, Needs_Review__c=True)
    state = tmp_path / "state"
    done = run_cli("jobs", "run", "retry-parked", "--emulator-info", str(org.info_file),
                   "--state", str(state), timeout_s=120)
    assert done.returncode == 0, done.stdout + done.stderr
    with Inbox.open_readonly(inbox_path(state)) as inbox:
        assert stored_parked_errors(inbox) == 2


class _Store:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def meta(self, key: str) -> str | None:
        return self.values.get(key)

    def set_meta(self, key: str, value: str) -> None:
        self.values[key] = value


class _Sf:
    def __init__(self, answers: list[int | Exception]) -> None:
        self.answers = answers
        self.soql: list[str] = []

    def count(self, soql: str) -> int:
        self.soql.append(soql)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_a_failing_count_warns_once_per_episode_and_keeps_the_last_figure(
        caplog: pytest.LogCaptureFixture) -> None:
    store = _Store()
    sf = _Sf([3, RuntimeError("503"), RuntimeError("503"), 4, RuntimeError("503")])
    counter = ParkedErrorCounter(sf, store, clock=lambda: 1000.0)
    with caplog.at_level(logging.DEBUG, logger="lifecycle_sync.sla"):
        assert counter.record() == 3
        assert counter.record() is None
        assert counter.record() is None
        assert stored_parked_errors(store) == 3  # the last figure kept
        assert counter.record() == 4
        assert counter.record() is None
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2  # one per failing episode, not one per failed count
    assert "counting parked Error rows failed (RuntimeError)" in warnings[0].getMessage()
    assert json.loads(store.values[PARKED_ERRORS_KEY]) == {"count": 4, "at": 1000.0}
    assert sf.soql == [PARKED_ERRORS_SOQL] * 5


def test_not_counted_while_applying_is_paused_for_the_api_limit() -> None:
    store = _Store()
    store.set_meta(PAUSED_KEY, "1")
    sf = _Sf([])
    assert ParkedErrorCounter(sf, store).record() is None
    assert sf.soql == []
    assert stored_parked_errors(store) is None


class _BusyInbox:
    """An inbox whose meta table can't be reached (busy past its timeout, disk full)."""

    def meta(self, key: str) -> str | None:
        raise InboxFailed("inbox read failed: database is locked")

    def set_meta(self, key: str, value: str) -> None:
        raise InboxFailed("inbox write failed: database is locked")


class _Counts:
    def count(self, soql: str) -> int:
        return 3


def test_an_unreachable_inbox_never_fails_the_job_it_runs_after(
        caplog: pytest.LogCaptureFixture) -> None:
    # The count runs in a finally after retry-parked: raising there would turn the job's own
    # outcome into an InboxFailed and a second Sentry issue (seen in R20 under load).
    with caplog.at_level(logging.WARNING, logger="lifecycle_sync.sla"):
        assert ParkedErrorCounter(_Counts(), _BusyInbox()).record() is None
    assert "storing the parked Error count failed (InboxFailed)" in caplog.text
