"""A Trial and its Conversion applied in one cycle to a Lead that already existed (found by
email, so it has no Workspace_ID__c): the Workspace keeps that Lead, and no second Lead is
created later. Found by the reliability suite (tests/reliability, R1 reference runs): the
cycle re-plans after ``convertLead``, the converted Lead was no longer "open" and so not
found again, the Workspace was written without its Lead, and the next cycle created and
converted a duplicate Lead (and Contact and Account)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import pytest
from entry_builders import CHURN, CONVERSION, TRIAL, lifecycle_entry
from sf_admin import salesforce_of

from emulator.server import Emulator
from handlers.cycle import run_cycle
from handlers.errors import TransientError
from handlers.gateway import SalesforceGateway
from handlers.gateway_api import Gateway, WriteResult
from handlers.sf_client import ClientSettings, SalesforceClient
from handlers.soql import quote_literal
from subscriber.auth import Session, SessionProvider, StaticToken

T0 = 1_790_000_000_000
CLIENT = "lifecycle-sync"


@pytest.fixture
def gateway(emulator: Emulator) -> SalesforceGateway:
    info = emulator.info()
    sessions = SessionProvider(StaticToken(Session(info["access_token"], info["instance_url"],
                                                   info["tenant_id"])))
    return SalesforceGateway(SalesforceClient(sessions, ClientSettings(
        ca_file=Path(info["ca_cert"]), backoff_max_s=0.05)))


def test_trial_and_conversion_in_one_cycle_keep_the_found_lead(gateway: SalesforceGateway
                                                               ) -> None:
    sf = salesforce_of(gateway)
    email = "marketo.first@found-lead-convert.example.com"
    lead_id = sf.restful("sobjects/Lead/", method="POST", json={
        "LastName": "First", "Company": "Marketo", "Email": email})["id"]
    entries = [lifecycle_entry("Trial", "found-conv-1", TRIAL, T0, email=email),
               lifecycle_entry("Conversion", "found-conv-1", CONVERSION, T0 + 1000, email=email)]
    assert not run_cycle(entries, gateway, CLIENT).retry
    later = [lifecycle_entry("Churn", "found-conv-1", CHURN, T0 + 2000, email=email)]
    assert not run_cycle(later, gateway, CLIENT).retry

    leads = sf.query("SELECT Id, IsConverted FROM Lead WHERE Email = "
                     f"{quote_literal(email)}")["records"]
    assert [(r["Id"], r["IsConverted"]) for r in leads] == [(lead_id, True)]
    ws = sf.query("SELECT Lead__c, Contact__c FROM Workspace__c "
                  "WHERE Workspace_ID__c = 'found-conv-1'")["records"]
    assert ws[0]["Lead__c"] == lead_id
    assert ws[0]["Contact__c"]
    contacts = sf.query(f"SELECT Id FROM Contact WHERE Email = {quote_literal(email)}")["records"]
    assert len(contacts) == 1


class FailingFinalWrite:
    """The real gateway, except that the first write carrying a conversion's Contact fails
    as a whole: the cycle stops between convertLead and its final write (as a crash or an
    outage would stop it)."""

    def __init__(self, gateway: SalesforceGateway) -> None:
        self._gateway = gateway
        self.failed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gateway, name)

    def write(self, workspaces: Mapping[str, dict[str, Any]],
              cache_rows: Mapping[str, dict[str, Any]]) -> WriteResult:
        if not self.failed and any("Contact__c" in b for b in workspaces.values()):
            self.failed = True
            raise TransientError("injected: the final write of the cycle failed")
        return self._gateway.write(workspaces, cache_rows)


def test_a_cycle_stopped_after_converting_a_found_lead_does_not_duplicate_it(
        gateway: SalesforceGateway) -> None:
    sf = salesforce_of(gateway)
    email = "marketo.second@found-lead-convert.example.com"
    lead_id = sf.restful("sobjects/Lead/", method="POST", json={
        "LastName": "Second", "Company": "Marketo", "Email": email})["id"]
    entries = [lifecycle_entry("Trial", "found-conv-2", TRIAL, T0, email=email),
               lifecycle_entry("Conversion", "found-conv-2", CONVERSION, T0 + 1000, email=email)]
    failing = FailingFinalWrite(gateway)
    with pytest.raises(TransientError):
        run_cycle(entries, cast(Gateway, failing), CLIENT)
    assert failing.failed
    assert not run_cycle(entries, gateway, CLIENT).retry  # the same entries, again

    leads = sf.query("SELECT Id, IsConverted FROM Lead WHERE Email = "
                     f"{quote_literal(email)}")["records"]
    assert [(r["Id"], r["IsConverted"]) for r in leads] == [(lead_id, True)]
    contacts = sf.query(f"SELECT Id FROM Contact WHERE Email = {quote_literal(email)}")["records"]
    assert len(contacts) == 1
