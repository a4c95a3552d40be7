"""``lifecycle-sync check`` against the emulator: a complete org passes; an org whose
metadata lacks a field and a picklist value fails with what to deploy (the emulator reads
its schema from a modified copy of our SFDX metadata)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from svc_rig import ROOT

from benchmarks.rig import child_env
from emulator.metadata import DEFAULT_METADATA_DIR
from service.org_checks import ASSIGN, Need, org_checks


def _check(emulator: Any, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    info = tmp_path / "info.json"
    emulator.write_info(info)
    return subprocess.run(
        [sys.executable, "-m", "service", "check", "--emulator-info", str(info), "--state",
         str(tmp_path / "state")], cwd=ROOT, capture_output=True, text=True, timeout=120,
        check=False, env=child_env(env))


def test_check_passes_on_a_complete_org(emulator_factory: Callable[..., Any],
                                        tmp_path: Path) -> None:
    done = _check(emulator_factory(), tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FAILED" not in done.stdout
    assert "ok: object Workspace__c" in done.stdout
    assert "ok: GetTopic /event/SelfServeTrialEvent__e" in done.stdout
    assert "ok: object Task: 8 writable" in done.stdout  # Status and Priority among them
    assert "ok: object Lead: 5 writable" in done.stdout  # FirstName among them
    assert "ok: converted Lead status readable" in done.stdout
    # The emulator models no PermissionSetAssignment: said, not failed.
    assert "ok: Convert Leads permission of the integration user: not verifiable" in done.stdout
    assert "object Opportunity" not in done.stdout  # apply.create_opportunity is off


def test_check_covers_opportunity_when_the_daemon_creates_them(
        emulator_factory: Callable[..., Any], tmp_path: Path) -> None:
    done = _check(emulator_factory(), tmp_path, LIFECYCLE_SYNC_APPLY_CREATE_OPPORTUNITY="true")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok: object Opportunity: 0 writable and 2 readable fields" in done.stdout


def test_check_names_a_removed_field_and_picklist_value(emulator_factory: Callable[..., Any],
                                                        tmp_path: Path) -> None:
    meta = tmp_path / "sfdx"
    shutil.copytree(DEFAULT_METADATA_DIR, meta)
    fields = meta / "force-app" / "main" / "default" / "objects" / "Workspace__c" / "fields"
    (fields / "MRR__c.field-meta.xml").unlink()
    status = fields / "Self_Serve_Status__c.field-meta.xml"
    text = status.read_text()
    start = text.index("<fullName>Churned</fullName>")
    opening = text.rindex("<value>", 0, start)
    closing = text.index("</value>", start) + len("</value>")
    status.write_text(text[:opening] + text[closing:])
    done = _check(emulator_factory(metadata_dir=meta, state_dir=tmp_path / "emu"), tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("FAILED: object Workspace"))
    assert "missing fields MRR__c" in line
    assert "Self_Serve_Status__c=Churned" in line
    assert "sf project deploy start" in line
    assert "ok: object Event_Cache__c" in done.stdout


def test_read_only_fields_ask_for_the_permission_set() -> None:
    def describe(name: str) -> dict[str, Any] | None:
        if name == "Gone__c":
            return None
        return {"fields": [{"name": "A__c", "createable": True, "updateable": False}]}

    results = dict(org_checks(describe, {"X__c": Need(write=("A__c",)),
                                         "Gone__c": Need(read=("B__c",))}))
    assert results["object Gone__c"] is not None
    problem = next(p for w, p in results.items() if w.startswith("object X__c"))
    assert problem is not None
    assert ASSIGN in problem


TASK = {"fields": [
    {"name": n, "createable": True, "updateable": True,
     "picklistValues": [{"value": v, "active": True} for v in values]}
    for n, values in (("Subject", ()), ("ActivityDate", ()), ("WhatId", ()), ("WhoId", ()),
                      ("OwnerId", ()), ("Description", ()),
                      ("Status", ("Not Started", "Completed")), ("Priority", ("Low", "Normal")))]}


def test_task_picklist_values_and_opportunity_creation_are_checked() -> None:
    from service.org_checks import OPPORTUNITY, REQUIRED, required

    def describe(name: str) -> dict[str, Any] | None:
        if name == "Task":
            return TASK
        return {"createable": False, "fields": [{"name": "Name"}, {"name": "AccountId"}]}

    results = dict(org_checks(describe, {"Task": REQUIRED["Task"],
                                         "Opportunity": OPPORTUNITY}))
    task = next(p for w, p in results.items() if w.startswith("object Task"))
    assert task is not None
    assert "Priority=High" in task  # trial-alerts' last-day Tasks would be refused
    opportunity = next(p for w, p in results.items() if w.startswith("object Opportunity"))
    assert opportunity is not None
    assert "(creating records)" in opportunity
    assert "Opportunity" in required(True)
    assert "Opportunity" not in required(False)
    assert "FirstName" in REQUIRED["Lead"].write


def test_converted_status_and_convert_permission_checks() -> None:
    from handlers.errors import CallRejected
    from service.org_access import access_checks

    answers: dict[str, Any] = {"LeadStatus": [{"MasterLabel": "Converted"}],
                               "PermissionSetAssignment": []}

    def query(soql: str) -> list[dict[str, Any]]:
        for obj, answer in answers.items():
            if f"FROM {obj} " in soql:
                if isinstance(answer, Exception):
                    raise answer
                return list(answer)
        raise AssertionError(soql)

    status, permission = access_checks(query, "005000000000001AAA")
    assert status[1] is None
    assert permission[1] is not None
    assert "Lifecycle_Sync_Integration" in permission[1]  # which permission set to assign
    answers["PermissionSetAssignment"] = [{"PermissionSet": {"Name": "X"}}]
    assert access_checks(query, "005000000000001AAA")[1] == (
        "Convert Leads permission of the integration user: granted", None)
    answers["LeadStatus"] = []
    assert access_checks(query, None)[0][1] is not None  # no converted status: FAILED
    answers["LeadStatus"] = CallRejected("HTTP 403 INSUFFICIENT_ACCESS: no", "INSUFFICIENT_ACCESS")
    assert len(access_checks(query, None)) == 1
    assert "cannot read it" in str(access_checks(query, None)[0][1])
