"""E2E tests for review findings about lookup scope (issue 7 review): the Contact to reuse when
the Conversion carries no email, and the Account matched when a Lead change linked the Lead
before the Trial arrived. Daemon and emulator real, over the network."""

from __future__ import annotations

from apply_rig import ApplyRig
from test_apply_e2e import CONVERSION, TRIAL, account, apply


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

