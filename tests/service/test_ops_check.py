"""``lifecycle-sync check`` against the emulator: a complete org passes; an org whose
metadata lacks a field and a picklist value fails with what to deploy (the emulator reads
its schema from a modified copy of our SFDX metadata)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from helpers.children import run_cli

from emulator.metadata import DEFAULT_METADATA_DIR
from service.org_checks import ASSIGN, Need, org_checks


def _check(emulator: Any, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    info = tmp_path / "info.json"
    emulator.write_info(info)
    return run_cli("check", "--emulator-info", str(info), "--state", str(tmp_path / "state"),
                   timeout_s=120)


def test_check_passes_on_a_complete_org(emulator_factory: Callable[..., Any],
                                        tmp_path: Path) -> None:
    done = _check(emulator_factory(), tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FAILED" not in done.stdout
    assert "ok: object Workspace__c" in done.stdout
    assert "ok: GetTopic /event/SelfServeTrialEvent__e" in done.stdout


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
