"""E2E tests for review findings about lookup scope (issue 7 review): the Contact to reuse when
the Conversion carries no email, and the Account matched when a Lead change linked the Lead
before the Trial arrived. Daemon and emulator real, over the network."""

from __future__ import annotations

from apply_rig import ApplyRig, rest_client, wait_until
from helpers.inbox_places import RIG_ON_BOTH_BACKENDS
from test_apply_e2e import CHURN, CONVERSION, TRIAL, account, apply

pytestmark = RIG_ON_BOTH_BACKENDS


def test_conversion_without_email_reuses_the_contact_of_the_workspace_email(rig: ApplyRig):
    acme = account(rig, "Pied Piper", domain="piper-e2e.com")
    contact = rig.admin.restful("sobjects/Contact/", method="POST", json={
        "LastName": "Hendricks", "Email": "richard@piper-e2e.com", "AccountId": acme})["id"]
    apply(rig, rig.record("Trial", "rv-c1", TRIAL, 1, email="richard@piper-e2e.com"))
    apply(rig, rig.record("Conversion", "rv-c1", CONVERSION, 2, email=None))
    ws = rig.workspace("rv-c1")
    assert (ws["Self_Serve_Status__c"], ws["Account__c"], ws["Contact__c"]) == (
        "Paid", acme, contact)
    assert len(rig.query("SELECT Id FROM Contact WHERE Email = 'richard@piper-e2e.com'")) == 1


def test_lead_linked_by_a_lead_change_before_the_trial_still_matches_the_account(rig: ApplyRig):
    acme = account(rig, "Aviato", domain="aviato-e2e.com")
    apply(rig, rig.record("Churn", "rv-l1", CHURN, 1, email="erlich@aviato-e2e.com"))
    marketo = rest_client(rig.info, "marketo")
    lead = marketo.restful("sobjects/Lead/", method="POST", json={
        "LastName": "Bachman", "Company": "Aviato", "Email": "erlich@aviato-e2e.com"})["id"]
    wait_until(lambda: rig.workspace("rv-l1")["Lead__c"] == lead, 30, "the Lead linked")
    apply(rig, rig.record("Trial", "rv-l1", TRIAL, 0.5, email="erlich@aviato-e2e.com"))
    ws = rig.workspace("rv-l1")
    assert (ws["Lead__c"], ws["Account__c"]) == (lead, acme)
    apply(rig, rig.record("Conversion", "rv-l1", CONVERSION, 2, email="erlich@aviato-e2e.com"))
    ws = rig.workspace("rv-l1")
    assert ws["Account__c"] == acme
    assert len(rig.query("SELECT Id FROM Account WHERE Name = 'Aviato'")) == 1
