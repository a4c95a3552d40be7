"""Issue 11 items 1-3 end to end: the apply cycle's real gateway over HTTPS against the
emulator (its assignment rules seeded through the admin API), records read back over REST,
API calls counted with the emulator's counters, ``review list`` run as a subprocess.

* Leads the daemon creates go through the org's lead assignment rule (``Sforce-Auto-Assign``)
  and the new Workspace follows the Lead's owner; with the option off the integration user
  keeps both; a rule named by ID; an optional "New self-serve trial" Task, in one call.
* A Trial without an expiration date: event date + ``trial_length_days``, noted.
* Conflicting data (seed 4.5): applied only where safe, flagged, listed by ``review``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from apply_rig import rest_client
from entry_builders import CONVERSION, TRIAL, lifecycle_entry
from helpers.children import run_cli
from simple_salesforce.api import Salesforce

from emulator.server import Emulator, EmulatorSettings
from handlers.conflicts import EMAIL_CONFLICT, LEAD_CONFLICT, MRR_CONFLICT
from handlers.cycle import CycleResult, run_cycle
from handlers.gateway import GatewaySettings, SalesforceGateway
from handlers.rule_settings import RuleSettings
from handlers.sf_client import ClientSettings, SalesforceClient
from subscriber.auth import Session, SessionProvider, StaticToken

T0 = 1_790_000_000_000  # 2026-09-21T14:13:20Z
CLIENT = "lifecycle-sync"
_serial = itertools.count(1)


class Org:
    """The emulator as the tests drive it: gateways with chosen settings, an admin client."""

    def __init__(self, emulator: Emulator, work: Path) -> None:
        self.emulator = emulator
        self.info_file = work / "info.json"
        emulator.write_info(self.info_file)
        self.info: dict[str, Any] = json.loads(self.info_file.read_text())
        self.admin: Salesforce = rest_client(self.info, "test-admin")
        self.sessions = SessionProvider(StaticToken(Session(
            self.info["access_token"], self.info["instance_url"], self.info["tenant_id"])))

    def gateway(self, **settings: Any) -> SalesforceGateway:
        client = SalesforceClient(self.sessions, ClientSettings(
            ca_file=Path(self.info["ca_cert"]), backoff_max_s=0.05))
        return SalesforceGateway(client, GatewaySettings(**settings))

    def apply(self, gateway: SalesforceGateway, *entries: Any) -> CycleResult:
        return run_cycle(list(entries), gateway, CLIENT)

    def calls(self) -> int:
        org = self.emulator.context.org
        assert org is not None
        return int(org.counters.snapshot()["total"])

    def admin_api(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = requests.post(f"{self.info['admin_url']}{path}", json=body, timeout=30)
        answer.raise_for_status()
        return dict(answer.json())

    def user(self, name: str) -> str:
        username = f"{name}{next(_serial)}@reps.example.com"
        return str(self.admin.User.create({"Username": username, "LastName": name,
                                           "Email": username})["id"])

    def one(self, soql: str) -> dict[str, Any]:
        [row] = self.admin.query_all(soql)["records"]
        return dict(row)

    def workspace(self, ws_id: str) -> dict[str, Any]:
        return self.one("SELECT Id, OwnerId, Lead__c, Email__c, Self_Serve_Status__c, MRR__c, "
                        "Plan_Type__c, Trial_Start_Date__c, Trial_Expiration_Date__c, "
                        "Needs_Review__c, Review_Reason__c, Processing_Notes__c "
                        f"FROM Workspace__c WHERE Workspace_ID__c = '{ws_id}'")

    def lead_owner(self, email: str) -> str:
        return str(self.one(f"SELECT OwnerId FROM Lead WHERE Email = '{email}'")["OwnerId"])

    def review_row(self, ws_id: str) -> dict[str, Any]:
        return self.one("SELECT Event_Uuid__c, Processing_Status__c, Needs_Review__c, "
                        "Review_Reason__c, Processing_Notes__c FROM Event_Cache__c "
                        f"WHERE Workspace_ID__c = '{ws_id}'")


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Org]:
    work = tmp_path_factory.mktemp("routing")
    with Emulator(EmulatorSettings(state_dir=work / "emulator")) as emulator:
        yield Org(emulator, work)


@pytest.fixture
def territory(org: Org) -> Iterator[dict[str, str]]:
    """The org's active Lead rule: @route-acme.com to ``acme``, else Lead Settings' default
    owner ``fallback``."""
    reps = {"acme": org.user("Acme"), "fallback": org.user("Fallback")}
    org.admin_api("/org/assignment-rules", {"name": "Territories", "active": True, "entries": [
        {"order": 1, "owner_id": reps["acme"],
         "criteria": [{"field": "Email", "operator": "contains", "value": "@route-acme.com"}]}],
        "default_lead_owner": reps["fallback"]})
    yield reps
    org.admin_api("/org/assignment-rules/clear", {})


def _trial(ws_id: str, email: str, at_s: int = 0, data: dict[str, Any] | None = None) -> Any:
    return lifecycle_entry("Trial", ws_id, TRIAL if data is None else data, T0 + at_s * 1000,
                           email=email)


def test_created_leads_are_owned_per_the_rule_and_workspaces_follow(org: Org,
                                                                    territory: dict[str, str]
                                                                    ) -> None:
    before = org.calls()
    result = org.apply(org.gateway(), _trial("rt-1", "ann@route-acme.com"),
                       _trial("rt-2", "bob@route-other.com"))
    assert len(result.applied) == 2
    assert org.calls() - before == 4  # lookup, Lead create, owners (one retrieve), upserts
    assert org.lead_owner("ann@route-acme.com") == territory["acme"]
    assert org.lead_owner("bob@route-other.com") == territory["fallback"]
    assert org.workspace("rt-1")["OwnerId"] == territory["acme"]
    assert org.workspace("rt-2")["OwnerId"] == territory["fallback"]


def test_with_assignment_off_the_integration_user_owns_lead_and_workspace(
        org: Org, territory: dict[str, str]) -> None:
    before = org.calls()
    org.apply(org.gateway(auto_assign="FALSE"), _trial("rt-off", "cy@route-acme.com"))
    assert org.calls() - before == 3  # no owner read-back: the creator owns the Lead
    assert org.lead_owner("cy@route-acme.com") == org.info["user_id"]
    assert org.workspace("rt-off")["OwnerId"] == org.info["user_id"]


def test_a_rule_named_by_id_applies_even_inactive(org: Org, territory: dict[str, str]) -> None:
    named = org.user("Named")
    rule = org.admin_api("/org/assignment-rules", {"name": "Pilot", "active": False, "entries": [
        {"order": 1, "owner_id": named, "criteria": []}]})["id"]
    org.apply(org.gateway(auto_assign=rule), _trial("rt-id", "di@route-acme.com"))
    assert org.lead_owner("di@route-acme.com") == named
    assert org.workspace("rt-id")["OwnerId"] == named


def test_new_trial_tasks_for_the_owners_in_one_call_and_only_once(
        org: Org, territory: dict[str, str]) -> None:
    gateway = org.gateway(rules=RuleSettings(new_trial_task=True))
    entries = [_trial("rt-t1", "eve@route-acme.com"), _trial("rt-t2", "fay@route-other.com")]
    before = org.calls()
    org.apply(gateway, *entries)
    assert org.calls() - before == 5  # the four above + one Collections create of both Tasks
    org.apply(gateway, *entries)  # redelivered: the Workspaces exist, no second Task
    tasks = org.admin.query_all("SELECT OwnerId, WhatId, Subject FROM Task "
                                "WHERE Subject LIKE 'New self-serve trial: rt-t%'")["records"]
    owners = {t["WhatId"]: t["OwnerId"] for t in tasks}
    assert len(tasks) == 2
    assert owners == {org.workspace("rt-t1")["Id"]: territory["acme"],
                      org.workspace("rt-t2")["Id"]: territory["fallback"]}


@pytest.mark.parametrize(("settings", "ends"), [
    (RuleSettings(), "2026-10-21"), (RuleSettings(trial_length_days=14), "2026-10-05")])
def test_a_trial_without_expiration_gets_the_configured_length(
        org: Org, settings: RuleSettings, ends: str) -> None:
    ws_id = f"rt-len-{settings.trial_length_days}"
    gateway = org.gateway(rules=settings)
    entry = _trial(ws_id, f"len{settings.trial_length_days}@route-len.com", data={})
    org.apply(gateway, entry)
    org.apply(gateway, entry)  # again: the note is not repeated
    ws = org.workspace(ws_id)
    assert (ws["Trial_Start_Date__c"], ws["Trial_Expiration_Date__c"]) == ("2026-09-21", ends)
    notes = ws["Processing_Notes__c"].splitlines()
    assert len(notes) == 1
    assert f"set to {ends} (event date + {settings.trial_length_days} days)" in notes[0]


def test_a_conversion_with_another_email_keeps_the_workspace_email(org: Org) -> None:
    gateway = org.gateway()
    org.apply(gateway, _trial("rt-c1", "gus@route-conflict.com"))
    org.apply(gateway, lifecycle_entry("Conversion", "rt-c1", CONVERSION, T0 + 60_000,
                                       email="mallory@elsewhere.example"))
    ws = org.workspace("rt-c1")
    assert (ws["Email__c"], ws["Self_Serve_Status__c"]) == ("gus@route-conflict.com", "Paid")
    assert ws["Needs_Review__c"] is True
    assert EMAIL_CONFLICT in ws["Review_Reason__c"]
    row = org.review_row("rt-c1")
    assert (row["Processing_Status__c"], row["Needs_Review__c"]) == ("Completed", True)
    assert "mallory" not in row["Processing_Notes__c"]  # notes name no address


def test_a_second_workspace_claiming_a_linked_lead_is_not_linked(org: Org) -> None:
    gateway = org.gateway()
    org.apply(gateway, _trial("rt-l1", "hal@route-conflict.com"))
    org.apply(gateway, _trial("rt-l2", "hal@route-conflict.com", at_s=5))
    first, second = org.workspace("rt-l1"), org.workspace("rt-l2")
    assert first["Lead__c"]
    assert second["Lead__c"] is None
    assert LEAD_CONFLICT in second["Review_Reason__c"]
    assert "rt-l1" in org.review_row("rt-l2")["Processing_Notes__c"]
    leads = org.admin.query_all("SELECT Id FROM Lead WHERE Email = 'hal@route-conflict.com'")
    assert leads["totalSize"] == 1


@pytest.mark.parametrize(("ws_id", "mrr"), [("rt-m1", -25), ("rt-m2", 250_000), ("rt-m3", "1e30")])
def test_a_negative_or_absurd_mrr_is_not_written(org: Org, ws_id: str, mrr: Any) -> None:
    gateway = org.gateway(rules=RuleSettings(mrr_ceiling=Decimal(100_000)))
    org.apply(gateway, _trial(ws_id, f"{ws_id}@route-conflict.com"),
              lifecycle_entry("Conversion", ws_id, {**CONVERSION, "mrr": 49}, T0 + 1000,
                              email=None))
    org.apply(gateway, lifecycle_entry("Conversion", ws_id, {**CONVERSION, "mrr": mrr,
                                                              "plan_type": "Scale"},
                                       T0 + 2000, email=None))
    ws = org.workspace(ws_id)
    assert (ws["Self_Serve_Status__c"], ws["Plan_Type__c"], ws["MRR__c"]) == (
        "Paid", "Scale", 49.0)  # the safe part applied, the previous MRR kept
    assert MRR_CONFLICT in ws["Review_Reason__c"]
    assert "is outside 0..100000" in ws["Processing_Notes__c"]


def test_review_lists_each_conflict(org: Org, tmp_path: Path) -> None:
    gateway = org.gateway()
    org.apply(gateway, _trial("rt-r1", "ivy@route-review.com"),
              lifecycle_entry("Conversion", "rt-r1", {**CONVERSION, "mrr": -1}, T0 + 1000,
                              email="other@route-review.com"))
    uuid = org.review_row("rt-r1")["Event_Uuid__c"]
    listed = run_cli("review", "list", "--emulator-info", str(org.info_file),
                     "--state", str(tmp_path / "state"))
    assert listed.returncode == 0, listed.stderr
    [line] = [x for x in listed.stdout.splitlines() if x.startswith(uuid)]
    assert "Conflict: MRR" in line
    assert "Conflict: event email" in line
