"""``jobs run retry-parked`` as the daemon's jobs are wired (the emulator over TLS, in
process): a parked row waiting for its trial is tried again and counted. (It does not pin
that the gateway gets the ``[apply]`` settings: mutant jobs_wiring.x_job_functions__mutmut_29
still survives it.)"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers.sf_rest import admin_client
from simple_salesforce.api import Salesforce

from emulator.server import Emulator
from service.cli import main


@pytest.fixture
def emulator(emulator_factory: Callable[..., Emulator]) -> Emulator:
    """An org of its own: retry-parked tries every due row in the org."""
    return emulator_factory()


@pytest.fixture
def admin(emulator: Emulator) -> Salesforce:
    return admin_client(emulator.info())


def test_jobs_run_retry_parked_tries_a_waiting_row_again(
        emulator: Emulator, admin: Salesforce, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    name = f"waiting-{uuid.uuid4()}"
    admin.Event_Cache__c.create({
        "Event_Uuid__c": name, "Processing_Status__c": "New", "Event_Type__c": "Conversion",
        "Workspace_ID__c": f"ws-{name}", "Retry_Count__c": 0,
        "Event_Data__c": '{"subscription_id": "sub_1", "plan_type": "Team", "mrr": 490}',
        "Original_Timestamp__c": "2026-11-30T09:00:00.000+0000"})
    info = tmp_path / "info.json"
    emulator.write_info(info)
    code = main(["jobs", "run", "retry-parked", "--emulator-info", str(info), "--state",
                 str(tmp_path / "s")])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert out.out.startswith("retry-parked: ok: ")
    found = admin.query("SELECT Retry_Count__c FROM Event_Cache__c WHERE Event_Uuid__c = "
                        f"'{name}'")["records"]
    assert found[0]["Retry_Count__c"] == 1  # its trial never came: it waits for the next try
