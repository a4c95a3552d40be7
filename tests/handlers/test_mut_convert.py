"""Behaviours of Lead conversion that surviving mutants showed no test held (issue 15,
``make mutate``): a convertLead refusal keeps Salesforce's status code, a Lead converted
meanwhile counts as converted (re-read, not a failure), and a conversion a rep made in the UI
brings its Account, Contact and Opportunity onto the Workspace, audited as that change."""

from __future__ import annotations

from pathlib import Path

from apply_rig import rest_client
from entry_builders import TRIAL, change_entry, lifecycle_entry
from fake_org import FakeOrg
from test_rules import apply

from emulator.server import Emulator
from handlers.gateway import SalesforceGateway
from handlers.plan import ConvertRequest
from handlers.sf_client import ClientSettings, SalesforceClient
from subscriber.auth import Session, SessionProvider, StaticToken


def _gateway(emulator: Emulator) -> SalesforceGateway:
    info = emulator.info()
    sessions = SessionProvider(StaticToken(Session(info["access_token"], info["instance_url"],
                                                   info["tenant_id"])))
    return SalesforceGateway(SalesforceClient(sessions, ClientSettings(
        ca_file=Path(info["ca_cert"]), backoff_max_s=0.05)))


def test_convert_refusal_keeps_the_code_and_a_converted_lead_is_reread(
        emulator: Emulator) -> None:
    admin = rest_client(emulator.info(), "test-admin")
    lead = admin.Lead.create({"LastName": "Conv", "Company": "Acme",
                              "Email": "conv@acme.example"})["id"]
    gateway = _gateway(emulator)
    nowhere = "001" + "0" * 12  # an Account ID that does not exist
    converted, failed = gateway.convert([ConvertRequest(lead, nowhere, None)])
    assert converted == {}
    assert failed[lead].startswith("INVALID_CROSS_REFERENCE_KEY: "), failed
    done, _ = gateway.convert([ConvertRequest(lead, None, None)])
    assert done[lead].is_converted
    assert done[lead].converted_account_id
    again, failed_again = gateway.convert([ConvertRequest(lead, None, None)])
    assert failed_again == {}  # converted meanwhile (a retry): re-read, not a failure
    assert again[lead].converted_account_id == done[lead].converted_account_id
    assert again[lead].converted_contact_id == done[lead].converted_contact_id
    assert again[lead].converted_opportunity_id == done[lead].converted_opportunity_id


def test_a_ui_conversion_brings_its_account_contact_and_opportunity(t0: int) -> None:
    org = FakeOrg()
    apply(org, lifecycle_entry("Trial", "ws-1", TRIAL, t0))
    lead = next(iter(org.leads))
    converted = {"IsConverted": True, "ConvertedAccountId": "001x",
                 "ConvertedContactId": "003x", "ConvertedOpportunityId": "006x"}
    change = change_entry("UPDATE", (lead,), converted, ("IsConverted",),
                          origin="com/salesforce/api/soap/62.0;client=SfdcInternalAPI/")
    apply(org, change)
    ws = org.workspaces["ws-1"]
    assert (ws["Account__c"], ws["Contact__c"], ws["Opportunity__c"]) == ("001x", "003x", "006x")
    assert ws["Last_Replay_Id__c"] == change.replay_id.hex()  # the audit names the change
