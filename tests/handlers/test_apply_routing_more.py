"""Review findings on issue 11 (lead owners, trial length, Tasks), end to end: the apply
cycle's real gateway over HTTPS against the emulator, its assignment rules seeded through the
admin API, records read back over REST."""

from __future__ import annotations

from entry_builders import CHURN, CONVERSION, change_entry, lifecycle_entry
from test_apply_routing_e2e import T0, Org, _trial, org, territory  # noqa: F401

from handlers.rule_settings import RuleSettings


def test_the_daemons_later_writes_never_rerun_the_rule_on_its_lead(
        org: Org, territory: dict[str, str]) -> None:  # noqa: F811
    """Salesforce re-runs the active rule on a Lead updated without ``Sforce-Auto-Assign:
    FALSE``: a rep's reassignment would be undone by any Lead update the daemon sent. After
    the Lead is created and a rep moves it (to an owner the rule would not choose), the
    Workspace's further events (a new expiration, a Lead change, a churn) leave it there."""
    gateway = org.gateway()
    org.apply(gateway, _trial("rt-keep", "gil@route-acme.com"))
    lead = org.one("SELECT Id, OwnerId FROM Lead WHERE Email = 'gil@route-acme.com'")
    assert lead["OwnerId"] == territory["acme"]
    rep = org.user("Rep")
    org.admin.Lead.update(lead["Id"], {"OwnerId": rep}, headers={"Sforce-Auto-Assign": "FALSE"})
    org.apply(gateway, _trial("rt-keep", "gil@route-acme.com", 10,
                              {"trial_expiration": "2027-01-31"}),
              change_entry("UPDATE", (lead["Id"],), {"Company": "Gil Inc"}, ("Company",)))
    org.apply(gateway, lifecycle_entry("Churn", "rt-keep", CHURN, T0 + 20_000,
                                       email="gil@route-acme.com"))
    assert org.workspace("rt-keep")["Self_Serve_Status__c"] == "Churned"
    assert org.lead_owner("gil@route-acme.com") == rep


def test_a_second_trial_on_an_existing_workspace_creates_no_task(
        org: Org, territory: dict[str, str]) -> None:  # noqa: F811
    gateway = org.gateway(rules=RuleSettings(new_trial_task=True))
    org.apply(gateway, _trial("rt-t9", "hal@route-acme.com"))
    org.apply(gateway, _trial("rt-t9", "hal@route-acme.com", 10,
                              {"trial_expiration": "2027-03-31"}))
    assert org.workspace("rt-t9")["Trial_Expiration_Date__c"] == "2027-03-31"
    tasks = org.admin.query_all("SELECT Id FROM Task "
                                "WHERE Subject LIKE 'New self-serve trial: rt-t9%'")["records"]
    assert len(tasks) == 1


def test_a_trial_without_expiration_during_a_trial_keeps_its_expiration(org: Org) -> None:  # noqa: F811
    """Re-sent or usage-only Trial events carry no expiration: the default (event date +
    30 days) is for a Workspace with none; it must not move a known one (nor re-alert)."""
    gateway = org.gateway()
    org.apply(gateway, _trial("rt-keep-exp", "ida@route-len.com"))  # ends 2026-12-31
    org.apply(gateway, _trial("rt-keep-exp", "ida@route-len.com", 86_400,
                              {"usage": {"seats": 3}}))
    ws = org.workspace("rt-keep-exp")
    assert (ws["Self_Serve_Status__c"], ws["Trial_Expiration_Date__c"]) == ("Trial", "2026-12-31")
    assert "no trial_expiration" not in (ws["Processing_Notes__c"] or "")
    org.apply(gateway, _trial("rt-new-exp", "joe@route-len.com", 0, {}))  # no expiration known
    assert org.workspace("rt-new-exp")["Trial_Expiration_Date__c"] == "2026-10-21"


def test_a_workspace_a_conversion_created_follows_its_lead_on_its_first_trial(
        org: Org, territory: dict[str, str]) -> None:  # noqa: F811
    """The Conversion came first and created the Workspace (the integration user owns it);
    when its first Trial arrives the Lead is created through the rule, the Workspace follows
    the Lead's owner and gets its one New-trial Task."""
    gateway = org.gateway(rules=RuleSettings(new_trial_task=True))
    org.apply(gateway, lifecycle_entry("Conversion", "rt-cf1", CONVERSION, T0 + 1000,
                                       email="kai@route-acme.com"))
    assert org.workspace("rt-cf1")["OwnerId"] == org.info["user_id"]
    org.apply(gateway, _trial("rt-cf1", "kai@route-acme.com"))
    org.apply(gateway, _trial("rt-cf1", "kai@route-acme.com"))  # redelivered: no second Task
    ws = org.workspace("rt-cf1")
    assert org.lead_owner("kai@route-acme.com") == territory["acme"]
    assert ws["OwnerId"] == territory["acme"]
    tasks = org.admin.query_all("SELECT OwnerId, WhatId FROM Task "
                                "WHERE Subject LIKE 'New self-serve trial: rt-cf1%'")["records"]
    assert [(t["OwnerId"], t["WhatId"]) for t in tasks] == [(territory["acme"], ws["Id"])]
