"""Every branch of the seed's flow trees, end to end: the daemon (a real process) applies
events published over Pub/Sub to the emulator (REST, SOAP, CDC over the network).

One emulator and one daemon serve the whole module; each test uses its own workspace IDs,
emails and domains, and waits until its own events left the inbox's pending state.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import requests
from apply_rig import ApplyRig, rest_client, wait_until
from helpers.inbox_places import RIG_ON_BOTH_BACKENDS

from handlers.lead_rules import DUPLICATE_LEAD
from handlers.lifecycle_rules import WAITING_FOR_TRIAL
from handlers.links import NO_ACCOUNT, SEVERAL_ACCOUNTS, SHARED_DOMAIN
from subscriber.events import EntryStatus

pytestmark = RIG_ON_BOTH_BACKENDS
TRIAL = {"trial_expiration": "2026-12-31"}
CONVERSION = {"subscription_id": "sub_1", "plan_type": "Team", "mrr": 490}
CHURN = {"churn_date": "2027-02-01", "churn_reason": "budget"}


def account(rig: ApplyRig, name: str, domain: str | None = None, website: str | None = None
            ) -> str:
    body = {"Name": name, "Email_Domain__c": domain, "Website": website}
    created = rig.admin.restful("sobjects/Account/", method="POST",
                                json={k: v for k, v in body.items() if v})
    return str(created["id"])


def apply(rig: ApplyRig, *records: dict) -> dict:
    return rig.wait_done(rig.publish(*records))


def convert_as_rep(rig: ApplyRig, lead_id: str, client: str = "rep-ui") -> None:
    body = (
        '<?xml version="1.0" encoding="utf-8"?><soapenv:Envelope xmlns:soapenv='
        '"http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:partner.soap.sforce.com">'
        f"<soapenv:Header><urn:SessionHeader><urn:sessionId>{rig.info['access_token']}"
        f"</urn:sessionId></urn:SessionHeader><urn:CallOptions><urn:client>{client}"
        "</urn:client></urn:CallOptions></soapenv:Header><soapenv:Body><urn:convertLead>"
        "<urn:leadConverts><urn:convertedStatus>Closed - Converted</urn:convertedStatus>"
        f"<urn:doNotCreateOpportunity>true</urn:doNotCreateOpportunity><urn:leadId>{lead_id}"
        "</urn:leadId></urn:leadConverts></urn:convertLead></soapenv:Body></soapenv:Envelope>")
    response = requests.post(f"{rig.info['instance_url']}/services/Soap/u/62.0",
                             data=body.encode(), verify=rig.info["ca_cert"], timeout=30,
                             headers={"Content-Type": "text/xml", "SOAPAction": '""'})
    assert response.status_code == 200, response.text
    assert ET.fromstring(response.content).find(
        ".//{urn:partner.soap.sforce.com}success").text == "true"


# -- Trial (seed 4.1, 5.1, 5.2) ------------------------------------------------------------

def test_new_trial_creates_workspace_and_lead_links_account_in_four_calls(rig):
    """Lookup, Lead creation (Sforce-Auto-Assign), the new Lead's owner, the upserts."""
    acme = account(rig, "Acme One", domain="acmeone.co.uk")
    rig.wait_idle()
    rig.reset_calls()
    apply(rig, rig.record("Trial", "e2e-t1", TRIAL, 1, email=" Dana.Rivera@Mail.AcmeOne.co.uk "))
    assert rig.calls() <= 4
    ws = rig.workspace("e2e-t1")
    assert (ws["Self_Serve_Status__c"], ws["Trial_Expiration_Date__c"]) == ("Trial",
                                                                             "2026-12-31")
    assert ws["Email__c"] == "dana.rivera@mail.acmeone.co.uk"
    assert ws["Account__c"] == acme
    assert ws["Needs_Review__c"] is False
    [lead] = rig.query("SELECT Id, FirstName, LastName, Company, LeadSource, Workspace_ID__c "
                       "FROM Lead WHERE Email = 'dana.rivera@mail.acmeone.co.uk'")
    assert ws["Lead__c"] == lead["Id"]
    assert (lead["FirstName"], lead["LastName"], lead["Company"], lead["LeadSource"],
            lead["Workspace_ID__c"]) == ("Dana", "Rivera", "Acmeone", "Self-Serve Trial",
                                         "e2e-t1")


def test_trial_reuses_newest_open_lead_and_matches_normalised_website(rig):
    globex = account(rig, "Globex", website="https://www.globex-e2e.com/about")
    marketo = rest_client(rig.info, "marketo")
    lead = marketo.restful("sobjects/Lead/", method="POST", json={
        "LastName": "Chen", "Company": "Globex", "Email": "alex@globex-e2e.com"})
    apply(rig, rig.record("Trial", "e2e-t2", TRIAL, 1, email="ALEX@globex-e2e.com"))
    ws = rig.workspace("e2e-t2")
    assert (ws["Lead__c"], ws["Account__c"]) == (lead["id"], globex)
    assert len(rig.query("SELECT Id FROM Lead WHERE Email = 'alex@globex-e2e.com'")) == 1


def test_account_review_for_free_mail_no_match_and_several_matches(rig):
    account(rig, "Gmail Inc", domain="gmail.com")
    first = account(rig, "Initech A", domain="initech-e2e.com")
    second = account(rig, "Initech B", domain="initech-e2e.com")
    apply(rig, rig.record("Trial", "e2e-free", TRIAL, 1, email="someone@gmail.com"),
          rig.record("Trial", "e2e-none", TRIAL, 1, email="x@nobody-e2e.com"),
          rig.record("Trial", "e2e-many", TRIAL, 1, email="y@initech-e2e.com"))
    free, none, many = (rig.workspace(w) for w in ("e2e-free", "e2e-none", "e2e-many"))
    assert free["Account__c"] is None
    assert SHARED_DOMAIN in free["Review_Reason__c"]
    assert NO_ACCOUNT in none["Review_Reason__c"]
    assert many["Account__c"] == min(first, second)  # the lowest ID wins
    assert SEVERAL_ACCOUNTS in many["Review_Reason__c"]
    assert all(w["Needs_Review__c"] for w in (free, none, many))


def test_trial_on_existing_trial_churned_and_paid_workspaces(rig):
    apply(rig, rig.record("Trial", "e2e-t4", TRIAL, 1))
    apply(rig, rig.record("Trial", "e2e-t4", {"trial_expiration": "2027-01-15"}, 2))
    assert rig.workspace("e2e-t4")["Trial_Expiration_Date__c"] == "2027-01-15"
    apply(rig, rig.record("Churn", "e2e-t4", CHURN, 3))
    apply(rig, rig.record("Trial", "e2e-t4", {"trial_expiration": "2027-03-01"}, 4))
    ws = rig.workspace("e2e-t4")
    assert (ws["Self_Serve_Status__c"], ws["Trial_Expiration_Date__c"]) == ("Trial",
                                                                             "2027-03-01")
    apply(rig, rig.record("Conversion", "e2e-t4", CONVERSION, 5))
    apply(rig, rig.record("Trial", "e2e-t4", {"trial_expiration": "2027-09-01"}, 6))
    ws = rig.workspace("e2e-t4")
    assert (ws["Self_Serve_Status__c"], ws["Trial_Expiration_Date__c"]) == ("Paid",
                                                                             "2027-03-01")
    assert ws["Trial_History__c"].count(" Trial ") == 4


# -- Conversion (seed 4.2, 5.3) ------------------------------------------------------------

def test_conversion_into_matched_account_reuses_contact(rig):
    acme = account(rig, "Hooli", domain="hooli-e2e.com")
    contact = rig.admin.restful("sobjects/Contact/", method="POST", json={
        "LastName": "Bighead", "Email": "nelson@hooli-e2e.com", "AccountId": acme})["id"]
    apply(rig, rig.record("Trial", "e2e-c1", TRIAL, 1, email="nelson@hooli-e2e.com"))
    rig.reset_calls()
    apply(rig, rig.record("Conversion", "e2e-c1", CONVERSION, 2, email="nelson@hooli-e2e.com"))
    assert rig.calls() <= 3  # lookup, convertLead, write
    ws = rig.workspace("e2e-c1")
    assert (ws["Self_Serve_Status__c"], ws["Plan_Type__c"], ws["MRR__c"],
            ws["Subscription_ID__c"]) == ("Paid", "Team", 490.0, "sub_1")
    assert ws["Conversion_Date__c"] is not None
    assert (ws["Account__c"], ws["Contact__c"]) == (acme, contact)
    [lead] = rig.query(f"SELECT IsConverted, ConvertedAccountId, ConvertedContactId, "
                       f"ConvertedOpportunityId FROM Lead WHERE Id = '{ws['Lead__c']}'")
    assert lead["IsConverted"] is True
    assert lead["ConvertedOpportunityId"] is None  # no Opportunity unless configured


def test_conversion_without_account_creates_account_and_contact(rig):
    apply(rig, rig.record("Trial", "e2e-c2", TRIAL, 1, email="pat@newco-e2e.com"),
          rig.record("Conversion", "e2e-c2", CONVERSION, 2, email="pat@newco-e2e.com"))
    ws = rig.workspace("e2e-c2")
    [acct] = rig.query(f"SELECT Id, Name FROM Account WHERE Id = '{ws['Account__c']}'")
    [contact] = rig.query(f"SELECT Email FROM Contact WHERE Id = '{ws['Contact__c']}'")
    assert acct["Name"] == "Newco-e2e"  # the Lead's Company, from the email domain
    assert contact["Email"] == "pat@newco-e2e.com"
    assert NO_ACCOUNT in ws["Review_Reason__c"]


def test_conversion_of_a_lead_a_rep_already_converted_uses_its_ids(rig):
    apply(rig, rig.record("Trial", "e2e-c3", TRIAL, 1, email="kim@already-e2e.com"))
    lead_id = rig.workspace("e2e-c3")["Lead__c"]
    convert_as_rep(rig, lead_id)
    apply(rig, rig.record("Conversion", "e2e-c3", CONVERSION, 2, email="kim@already-e2e.com"))
    ws = rig.workspace("e2e-c3")
    [lead] = rig.query(f"SELECT ConvertedAccountId, ConvertedContactId FROM Lead "
                       f"WHERE Id = '{lead_id}'")
    assert (ws["Account__c"], ws["Contact__c"]) == (lead["ConvertedAccountId"],
                                                    lead["ConvertedContactId"])
    assert ws["Self_Serve_Status__c"] == "Paid"


def test_conversion_for_unknown_workspace_parks_until_the_trial(rig):
    done = apply(rig, rig.record("Conversion", "e2e-c4", CONVERSION, 2, email="lee@late-e2e.com"))
    [entry] = done.values()
    assert "parked until the Trial arrives" in entry.error
    ws = rig.workspace("e2e-c4")
    assert (ws["Self_Serve_Status__c"], ws["Needs_Review__c"]) == ("Paid", True)
    assert WAITING_FOR_TRIAL in ws["Review_Reason__c"]
    [row] = rig.query("SELECT Processing_Status__c, Event_Type__c FROM Event_Cache__c "
                      "WHERE Workspace_ID__c = 'e2e-c4'")
    assert (row["Processing_Status__c"], row["Event_Type__c"]) == ("New", "Conversion")
    apply(rig, rig.record("Trial", "e2e-c4", TRIAL, 1, email="lee@late-e2e.com"))
    ws = rig.workspace("e2e-c4")
    assert ws["Self_Serve_Status__c"] == "Paid"
    assert ws["Trial_Start_Date__c"] is not None
    assert ws["Contact__c"] is not None
    assert ws["Needs_Review__c"] is True  # still: no Account matches late-e2e.com
    assert WAITING_FOR_TRIAL not in ws["Review_Reason__c"]
    [row] = rig.query("SELECT Processing_Status__c FROM Event_Cache__c "
                      "WHERE Workspace_ID__c = 'e2e-c4'")
    assert row["Processing_Status__c"] == "Completed"


# -- Churn (seed 4.3) and order (seed 4.4) -------------------------------------------------

def test_churn_existing_and_unknown_workspace(rig):
    apply(rig, rig.record("Trial", "e2e-x1", TRIAL, 1))
    apply(rig, rig.record("Churn", "e2e-x1", CHURN, 2))
    ws = rig.workspace("e2e-x1")
    assert (ws["Self_Serve_Status__c"], ws["Churn_Date__c"], ws["Churn_Reason__c"]) == (
        "Churned", "2027-02-01", "budget")
    done = apply(rig, rig.record("Churn", "e2e-x2", CHURN, 2))
    assert next(iter(done.values())).error  # parked with a note
    ws = rig.workspace("e2e-x2")
    assert (ws["Self_Serve_Status__c"], ws["Needs_Review__c"]) == ("Churned", True)


def test_older_event_never_moves_status_back_and_fills_history(rig):
    apply(rig, rig.record("Churn", "e2e-o1", CHURN, 10))
    apply(rig, rig.record("Trial", "e2e-o1", TRIAL, 5))
    ws = rig.workspace("e2e-o1")
    assert ws["Self_Serve_Status__c"] == "Churned"
    assert ws["Trial_Expiration_Date__c"] == "2026-12-31"
    assert ws["Last_Event_Time__c"].startswith("2026-09-21T14:13:30")


# -- Marketo and reps (seed 5.4) -----------------------------------------------------------

def test_marketo_lead_links_workspace_and_duplicates_are_flagged(rig):
    apply(rig, rig.record("Churn", "e2e-m1", CHURN, 1, email="mo@mkto-e2e.com"))
    marketo = rest_client(rig.info, "marketo")
    first = marketo.restful("sobjects/Lead/", method="POST", json={
        "LastName": "Mo", "Company": "Mkto", "Email": "MO@mkto-e2e.com"})["id"]
    wait_until(lambda: rig.workspace("e2e-m1")["Lead__c"] == first, 30, "the Lead linked")
    marketo.restful("sobjects/Lead/", method="POST", json={
        "LastName": "Mo", "Company": "Mkto", "Email": "mo@mkto-e2e.com"})
    ws = wait_until(lambda: (w := rig.workspace("e2e-m1"))["Needs_Review__c"]
                    and DUPLICATE_LEAD in (w["Review_Reason__c"] or "") and w, 30,
                    "the duplicate flagged")
    assert ws["Lead__c"] == first  # the older Lead survives; nothing merged
    assert len(rig.query("SELECT Id FROM Lead WHERE Email = 'mo@mkto-e2e.com'")) == 2


def test_rep_conversion_copies_ids_and_own_changes_cause_no_calls(rig):
    apply(rig, rig.record("Trial", "e2e-r1", TRIAL, 1, email="rae@rep-e2e.com"))
    lead_id = rig.workspace("e2e-r1")["Lead__c"]
    rig.wait_idle()
    rig.reset_calls()
    convert_as_rep(rig, lead_id)
    wait_until(lambda: any(e.change is not None and "client=rep-ui" in e.change.change_origin
                           and lead_id in e.change.record_ids
                           and e.status is EntryStatus.APPLIED for e in rig.entries()),
               30, "the rep's conversion applied")
    rig.wait_idle()
    spent = rig.calls()
    assert spent <= 3  # the rep's SOAP call, then one lookup and one write: no loop
    ws = rig.workspace("e2e-r1")
    [lead] = rig.query(f"SELECT ConvertedAccountId, ConvertedContactId FROM Lead "
                       f"WHERE Id = '{lead_id}'")
    assert (ws["Account__c"], ws["Contact__c"]) == (lead["ConvertedAccountId"],
                                                    lead["ConvertedContactId"])


def test_gap_rereads_leads_and_overflow_is_parked_for_reconciliation(rig):
    apply(rig, rig.record("Conversion", "e2e-g1", CONVERSION, 1, email="gus@gap-e2e.com"))
    ours = rest_client(rig.info, "lifecycle-sync")  # a change the daemon ignores as its own
    lead = ours.restful("sobjects/Lead/", method="POST", json={
        "LastName": "Gus", "Company": "Gap", "Email": "gus@gap-e2e.com"})["id"]
    rig.wait_idle()
    assert rig.workspace("e2e-g1")["Lead__c"] is None
    rig.gap("GAP_UPDATE", [lead])
    wait_until(lambda: rig.workspace("e2e-g1")["Lead__c"] == lead, 30, "the gap re-read")
    rig.gap("GAP_OVERFLOW", [])
    row = wait_until(lambda: rig.query(
        "SELECT Needs_Review__c, Processing_Notes__c FROM Event_Cache__c "
        "WHERE Event_Type__c = 'GAP_OVERFLOW'"), 30, "the overflow parked")
    assert row[0]["Needs_Review__c"] is True
    assert "Reconcile" in row[0]["Processing_Notes__c"]


# -- idempotency ---------------------------------------------------------------------------

def test_reapplying_after_a_crash_before_the_inbox_update_changes_nothing(rig, tmp_path: Path):
    apply(rig, rig.record("Trial", "e2e-i1", TRIAL, 1, email="ida@idem-e2e.com"),
          rig.record("Conversion", "e2e-i1", CONVERSION, 2, email="ida@idem-e2e.com"),
          rig.record("Trial", "e2e-i2", "{broken", 1))
    rig.wait_idle()
    before = _org_state(rig)
    daemon = rig.daemon
    assert daemon is not None
    assert daemon.terminate(timeout_s=15) == 0
    rig.forget_applied()  # as if the inbox update never ran
    rig.reset_calls()
    rig.start()
    rig.wait_idle()
    after = _org_state(rig)
    for obj in before:  # the first difference, readably
        assert sorted(set(after[obj]) - set(before[obj])) == [], obj
        assert sorted(set(before[obj]) - set(after[obj])) == [], obj
    assert not [e for e in rig.entries() if e.status is EntryStatus.PENDING]


def _org_state(rig: ApplyRig) -> dict[str, set[tuple[tuple[str, str], ...]]]:
    out: dict[str, set[tuple[tuple[str, str], ...]]] = {}
    for obj, fields in (("Workspace__c", "Workspace_ID__c, Self_Serve_Status__c, Lead__c, "
                         "Account__c, Contact__c, Trial_History__c, Review_Reason__c"),
                        ("Lead", "Email, IsConverted"), ("Account", "Name"),
                        ("Contact", "Email, AccountId"),
                        ("Event_Cache__c", "Event_Uuid__c, Processing_Status__c")):
        rows = rig.query(f"SELECT Id, {fields} FROM {obj}")
        out[obj] = {tuple(sorted((k, str(v)) for k, v in r.items() if k != "attributes"))
                    for r in rows}
    return out


# -- intake never waits for apply ---------------------------------------------------------

def test_intake_keeps_landing_while_salesforce_stalls_then_everything_applies(rig):
    org = rig.emulator.context.org
    assert org is not None
    rig.wait_idle()
    org.faults.arm_preset("stall", stall_s=60.0)  # every REST/SOAP call hangs
    try:
        ids = rig.publish(*[rig.record("Trial", f"e2e-s{i}", TRIAL, 1, email=f"s{i}@stall.co.uk")
                            for i in range(30)])
        wait_until(lambda: len({e.event_id for e in rig.entries()} & set(ids)) == 30, 30,
                   "all 30 landed while Salesforce hangs")
        assert any(e.status is EntryStatus.PENDING for e in rig.entries()
                   if e.event_id in ids)
    finally:
        org.faults.clear()  # releases the stalled calls
    rig.wait_done(ids)
    assert rig.workspace("e2e-s29")["Self_Serve_Status__c"] == "Trial"

