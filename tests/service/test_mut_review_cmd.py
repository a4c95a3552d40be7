"""``review retry`` and ``review dismiss`` as the row they leave in Salesforce (the emulator
over TLS, the command in process): flags cleared, status set, and a UTC-stamped note appended
to the row's history (mutation testing found the write and the stamp's zone unpinned)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from helpers.sf_rest import admin_client
from simple_salesforce.api import Salesforce

from emulator.server import Emulator
from service.cli import main


@pytest.fixture
def admin(emulator: Emulator) -> Salesforce:
    return admin_client(emulator.info())


def parked(admin: Salesforce, **fields: Any) -> str:
    name = f"review-{uuid.uuid4()}"
    admin.Event_Cache__c.create({"Event_Uuid__c": name, "Processing_Status__c": "Error",
                                 "Event_Type__c": "Conversion", "Workspace_ID__c": "ws-r",
                                 "Needs_Review__c": True, "Retry_Count__c": 8,
                                 "Processing_Notes__c": "gave up after 8 tries", **fields})
    return name


def row(admin: Salesforce, name: str) -> dict[str, Any]:
    found = admin.query("SELECT Processing_Status__c, Needs_Review__c, Retry_Count__c, "
                        "Processing_Notes__c FROM Event_Cache__c WHERE Event_Uuid__c = "
                        f"'{name}'")["records"]
    assert len(found) == 1
    return dict(found[0])


def review(emulator: Emulator, tmp_path: Path, *args: str) -> int:
    info = tmp_path / "info.json"
    emulator.write_info(info)
    return main(["review", *args, "--emulator-info", str(info), "--state", str(tmp_path / "s")])


STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00"


def test_review_retry_hands_the_row_back_to_retry_parked_with_a_utc_note(
        emulator: Emulator, admin: Salesforce, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    name = parked(admin)
    assert review(emulator, tmp_path, "retry", name) == 0
    assert capsys.readouterr().out == (
        f"{name}: handed back to retry-parked: it runs on its schedule, or now with "
        "`lifecycle-sync jobs run retry-parked`\n")
    after = row(admin, name)
    assert after["Needs_Review__c"] is False
    assert after["Retry_Count__c"] == 0
    assert after["Processing_Status__c"] == "Error"
    assert re.fullmatch(rf"gave up after 8 tries\n{STAMP}: review retry by admin",
                        after["Processing_Notes__c"]), after["Processing_Notes__c"]


def test_review_dismiss_completes_the_row_with_a_utc_note(
        emulator: Emulator, admin: Salesforce, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    name = parked(admin)
    assert review(emulator, tmp_path, "dismiss", name) == 0
    assert capsys.readouterr().out == (
        f"{name}: dismissed: Completed, deleted by retention in due course\n")
    after = row(admin, name)
    assert (after["Processing_Status__c"], after["Needs_Review__c"]) == ("Completed", False)
    assert re.fullmatch(rf"gave up after 8 tries\n{STAMP}: dismissed by admin",
                        after["Processing_Notes__c"])
    assert review(emulator, tmp_path, "show", name) == 1  # no longer needs review


def test_review_show_of_a_row_without_a_reason_gives_the_general_advice(
        emulator: Emulator, admin: Salesforce, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    name = parked(admin)
    assert review(emulator, tmp_path, "show", name) == 0
    out = capsys.readouterr().out
    assert f"Event_Uuid__c: {name}\n" in out
    assert out.endswith("what to do: read the reason and notes; fix the cause, then "
                        "`review retry` or `review dismiss`\n")


def test_review_of_an_event_that_needs_none_says_so_on_stderr(
        emulator: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert review(emulator, tmp_path, "retry", "no-such-event") == 1
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err == ("no parked event no-such-event needs review (`review list` shows those "
                       "that do)\n")
