"""SOAP ``convertLead`` against a running emulator, over HTTPS with hand-written envelopes.

Leads are made and checked over REST with simple-salesforce; conversions are posted with plain
``requests`` the way a hand-rolled or zeep client would send them. Expectations come from the
partner WSDL (element names and order), the SOAP guide (per-record errors in a 200 response,
faults as HTTP 500) and the CDC guide's lead-conversion example.
"""

from __future__ import annotations

import datetime as dt
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from simple_salesforce.api import Salesforce
from test_cdc_decoding import decode_bitmap

from emulator.ids import make_id
from emulator.server import Emulator

API = "62.0"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
P = "{urn:partner.soap.sforce.com}"
SF = "{urn:fault.partner.soap.sforce.com}"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
TOPIC = "/data/LeadChangeEvent"
CONVERTED = "Closed - Converted"
CLIENT = "lifecycle-sync"
# LeadConvert elements in the partner WSDL's sequence order.
LEAD_CONVERT_ORDER = ("accountId", "contactId", "convertedStatus", "doNotCreateOpportunity",
                      "leadId", "opportunityId", "opportunityName", "overwriteLeadSource",
                      "ownerId", "sendNotificationEmail")


# -- helpers --------------------------------------------------------------------------------


def envelope(token: str | None, body: str, client: str | None = CLIENT) -> str:
    session = (f"<urn:SessionHeader><urn:sessionId>{token}</urn:sessionId></urn:SessionHeader>"
               if token is not None else "")
    options = (f"<urn:CallOptions><urn:client>{client}</urn:client></urn:CallOptions>"
               if client else "")
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{ENV}" xmlns:urn="urn:partner.soap.sforce.com">'
        f"<soapenv:Header>{session}{options}</soapenv:Header>"
        f"<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    )


def lead_convert(**fields: Any) -> str:
    fields.setdefault("convertedStatus", CONVERTED)
    fields.setdefault("doNotCreateOpportunity", False)
    parts = []
    for name in LEAD_CONVERT_ORDER:
        if name in fields:
            value = fields[name]
            text = str(value).lower() if isinstance(value, bool) else str(value)
            parts.append(f"<urn:{name}>{text}</urn:{name}>")
    return "<urn:leadConverts>" + "".join(parts) + "</urn:leadConverts>"


def convert_call(*converts: str) -> str:
    return "<urn:convertLead>" + "".join(converts) + "</urn:convertLead>"


def post(info: dict[str, Any], xml: str, path: str = f"/services/Soap/u/{API}"
         ) -> requests.Response:
    return requests.post(
        info["instance_url"] + path, data=xml.encode(), verify=info["ca_cert"], timeout=30,
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'},
    )


def results(response: requests.Response) -> list[dict[str, Any]]:
    """The ``result`` elements as dicts; IDs None when nil; ``order`` lists the child names."""
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    out = []
    for node in root.iterfind(f"{{{ENV}}}Body/{P}convertLeadResponse/{P}result"):
        item: dict[str, Any] = {"order": [c.tag.removeprefix(P) for c in node], "errors": []}
        for child in node:
            name = child.tag.removeprefix(P)
            if name == "errors":
                item["errors"].append({
                    "statusCode": child.findtext(f"{P}statusCode"),
                    "message": child.findtext(f"{P}message"),
                    "fields": [f.text for f in child.iterfind(f"{P}fields")],
                    "order": [c.tag.removeprefix(P) for c in child],
                })
            elif child.get(XSI_NIL) == "true":
                item[name] = None
            else:
                item[name] = child.text
        item["success"] = item["success"] == "true"
        out.append(item)
    return out


def fault(response: requests.Response) -> dict[str, str | None]:
    assert response.status_code == 500, response.text
    node = ET.fromstring(response.content).find(f"{{{ENV}}}Body/{{{ENV}}}Fault")
    assert node is not None
    detail = node.find(f"detail/{SF}UnexpectedErrorFault")
    return {
        "faultcode": node.findtext("faultcode"),
        "faultstring": node.findtext("faultstring"),
        "exceptionCode": None if detail is None else detail.findtext(f"{SF}exceptionCode"),
        "exceptionMessage": None if detail is None else detail.findtext(f"{SF}exceptionMessage"),
    }


def lead_events(emulator: Emulator, after: int, record_id: str) -> list[dict[str, Any]]:
    bus = emulator.context.bus
    decoded = [bus.decode(e) for e in bus.store.read_after(TOPIC, after, 10_000)]
    return [e for e in decoded if e["ChangeEventHeader"]["recordIds"] == [record_id]]


def schema_json(emulator: Emulator) -> str:
    store = emulator.context.bus.store
    info = store.topic(TOPIC)
    assert info is not None
    found = store.schema(info[1])
    assert found is not None
    return found[1]


@pytest.fixture
def info(emulator: Emulator) -> Iterator[dict[str, Any]]:
    yield emulator.info()
    emulator.org.faults.clear()


@pytest.fixture
def sf(info: dict[str, Any]) -> Salesforce:
    session = requests.Session()
    session.verify = info["ca_cert"]
    session.trust_env = False  # else REQUESTS_CA_BUNDLE silently replaces session.verify
    return Salesforce(instance_url=info["instance_url"], session_id=info["access_token"],
                      session=session, version=API)


def new_lead(sf: Any, **fields: Any) -> str:
    tag = uuid.uuid4().hex[:10]
    body = {"FirstName": "Ada", "LastName": f"Lovelace{tag}", "Company": f"Engines {tag}",
            "Email": f"ada.{tag}@example.com", **fields}
    return str(sf.Lead.create(body)["id"])


# -- conversions ----------------------------------------------------------------------------


def test_conversion_creates_account_contact_opportunity_and_converts_the_lead(
    emulator: Emulator, info: dict[str, Any], sf: Any
) -> None:
    lead_id = new_lead(sf, Phone="+44 20 7946 0000", LeadSource="Web")
    [result] = results(post(info, envelope(info["access_token"], convert_call(
        lead_convert(leadId=lead_id, opportunityName="Engines - Trial")))))
    assert result["order"] == ["accountId", "contactId", "leadId", "opportunityId", "success"]
    assert result["success"] is True
    assert result["leadId"] == lead_id
    lead = sf.Lead.get(lead_id)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert (lead["IsConverted"], lead["Status"], lead["ConvertedDate"]) == (True, CONVERTED, today)
    assert (lead["ConvertedAccountId"], lead["ConvertedContactId"],
            lead["ConvertedOpportunityId"]) == (
        result["accountId"], result["contactId"], result["opportunityId"])
    account = sf.Account.get(result["accountId"])
    contact = sf.Contact.get(result["contactId"])
    opportunity = sf.Opportunity.get(result["opportunityId"])
    assert (account["Name"], account["Phone"]) == (lead["Company"], "+44 20 7946 0000")
    assert (contact["LastName"], contact["Email"], contact["AccountId"]) == (
        lead["LastName"], lead["Email"], result["accountId"])
    assert (opportunity["Name"], opportunity["AccountId"]) == ("Engines - Trial",
                                                                result["accountId"])


def test_conversion_publishes_the_documented_lead_change_event(
    emulator: Emulator, info: dict[str, Any], sf: Any
) -> None:
    lead_id = new_lead(sf)
    before = emulator.context.bus.store.max_seq(TOPIC)
    [result] = results(post(info, envelope(info["access_token"], convert_call(
        lead_convert(leadId=lead_id)))))
    [event] = lead_events(emulator, before, lead_id)
    header = event["ChangeEventHeader"]
    assert (header["changeType"], header["sequenceNumber"]) == ("UPDATE", 4)
    assert header["changedFields"] == ["0x08F81000"]
    assert decode_bitmap(schema_json(emulator), header["changedFields"]) == [
        "Status", "IsConverted", "ConvertedDate", "ConvertedAccountId", "ConvertedContactId",
        "ConvertedOpportunityId", "LastModifiedDate",
    ]
    assert header["changeOrigin"] == f"com/salesforce/api/soap/{API};client={CLIENT}"
    assert header["commitUser"] == info["user_id"]
    assert (header["nulledFields"], header["diffFields"]) == ([], [])
    midnight = dt.datetime.combine(dt.datetime.now(dt.UTC).date(), dt.time(), dt.UTC)
    assert event["ConvertedDate"] == int(midnight.timestamp() * 1000)
    assert event["ConvertedOpportunityId"] == result["opportunityId"]
    assert event["Email"] is None


def test_into_existing_account_and_contact_without_opportunity(
    emulator: Emulator, info: dict[str, Any], sf: Any
) -> None:
    account_id = sf.Account.create({"Name": f"Existing {uuid.uuid4().hex[:8]}"})["id"]
    contact_id = sf.Contact.create({"LastName": "Byron", "AccountId": account_id})["id"]
    lead_id = new_lead(sf)
    before = emulator.context.bus.store.max_seq(TOPIC)
    [result] = results(post(info, envelope(info["access_token"], convert_call(lead_convert(
        accountId=account_id, contactId=contact_id, doNotCreateOpportunity=True,
        leadId=lead_id)))))
    assert (result["success"], result["accountId"], result["contactId"], result["opportunityId"]
            ) == (True, account_id, contact_id, None)
    contact = sf.Contact.get(contact_id)
    assert contact["LastName"] == "Byron"  # merging only fills empty fields
    assert contact["Email"] == sf.Lead.get(lead_id)["Email"]
    [event] = lead_events(emulator, before, lead_id)
    assert decode_bitmap(schema_json(emulator), event["ChangeEventHeader"]["changedFields"]) == [
        "Status", "IsConverted", "ConvertedDate", "ConvertedAccountId", "ConvertedContactId",
        "LastModifiedDate",
    ]


def test_per_record_failures_come_back_in_order_in_a_200(
    info: dict[str, Any], sf: Any
) -> None:
    good, converted, deleted = new_lead(sf), new_lead(sf), new_lead(sf)
    token = info["access_token"]
    assert results(post(info, envelope(token, convert_call(lead_convert(leadId=converted)))))[0][
        "success"]
    sf.Lead.delete(deleted)
    missing_lead = make_id("00Q", 987_654_321)
    missing_account = make_id("001", 987_654_321)
    batch = convert_call(
        lead_convert(leadId=good, convertedStatus="Working - Contacted"),
        lead_convert(leadId=converted),
        lead_convert(leadId=missing_lead),
        lead_convert(leadId=deleted),
        lead_convert(leadId="not-an-id"),
        lead_convert(leadId=good, accountId=missing_account),
        lead_convert(leadId=good[:15]),
    )
    got = results(post(info, envelope(token, batch)))
    codes = [[e["statusCode"] for e in r["errors"]] for r in got]
    assert codes == [["INVALID_STATUS"], ["CANNOT_UPDATE_CONVERTED_LEAD"],
                     ["INVALID_CROSS_REFERENCE_KEY"], ["ENTITY_IS_DELETED"], ["MALFORMED_ID"],
                     ["INVALID_CROSS_REFERENCE_KEY"], []]
    assert [r["success"] for r in got] == [False] * 6 + [True]
    assert got[0]["errors"][0] == {"statusCode": "INVALID_STATUS", "fields": ["Status"],
                                   "message": "invalid convertedStatus: Working - Contacted",
                                   "order": ["fields", "message", "statusCode"]}
    assert got[1]["errors"][0]["message"] == "cannot reference converted lead"
    assert got[0]["order"] == ["accountId", "contactId", "errors", "leadId", "opportunityId",
                               "success"]
    assert (got[0]["accountId"], got[0]["leadId"]) == (None, None)
    assert got[6]["leadId"] == good  # a 15-character ID is answered in its 18-character form


def test_a_failed_lead_leaves_no_records_behind(info: dict[str, Any], sf: Any) -> None:
    lead_id = new_lead(sf)
    company = sf.Lead.get(lead_id)["Company"]
    other = sf.Contact.create({"LastName": "Elsewhere"})["id"]
    account_id = sf.Account.create({"Name": f"A {uuid.uuid4().hex[:8]}"})["id"]
    [result] = results(post(info, envelope(info["access_token"], convert_call(
        lead_convert(leadId=lead_id, accountId=account_id, contactId=other)))))
    assert [e["statusCode"] for e in result["errors"]] == ["FIELD_INTEGRITY_EXCEPTION"]
    assert sf.Lead.get(lead_id)["IsConverted"] is False
    found = sf.query(f"SELECT Id FROM Account WHERE Name = '{company}'")
    assert found["totalSize"] == 0


def test_record_fault_fails_only_that_lead(
    emulator: Emulator, info: dict[str, Any], sf: Any
) -> None:
    first, second = new_lead(sf), new_lead(sf)
    emulator.org.faults.arm_preset("unable_to_lock_row", kind="convertLead", times=1)
    got = results(post(info, envelope(info["access_token"], convert_call(
        lead_convert(leadId=first), lead_convert(leadId=second)))))
    assert [r["success"] for r in got] == [False, True]
    assert got[0]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
    assert sf.Lead.get(first)["IsConverted"] is False


# -- call-level behaviour -------------------------------------------------------------------


def test_calls_are_counted_and_limit_info_is_returned(
    emulator: Emulator, info: dict[str, Any], sf: Any
) -> None:
    org = emulator.org
    lead_id = new_lead(sf)
    counted = org.counters.snapshot()["by_kind"].get("soap_convertLead", 0)
    call = convert_call(lead_convert(leadId=lead_id))
    response = post(info, envelope(info["access_token"], call),
                    path=f"/services/Soap/u/{API}/{info['tenant_id']}")
    assert results(response)[0]["success"]
    assert org.counters.snapshot()["by_kind"]["soap_convertLead"] == counted + 1
    limit = ET.fromstring(response.content).find(
        f"{{{ENV}}}Header/{P}LimitInfoHeader/{P}limitInfo")
    assert limit is not None
    assert limit.findtext(f"{P}type") == "API REQUESTS"
    assert int(limit.findtext(f"{P}limit") or 0) == org.usage.daily_limit
    assert 1 <= int(limit.findtext(f"{P}current") or 0) <= org.usage.used()


@pytest.mark.parametrize("token", [None, "", "00Dxx0000000001!bogus"])
def test_missing_or_invalid_session_is_a_fault(info: dict[str, Any], token: str | None) -> None:
    got = fault(post(info, envelope(token, convert_call(lead_convert(leadId="00Q")))))
    assert got == {
        "faultcode": "sf:INVALID_SESSION_ID",
        "faultstring": "INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: "
                       "Illegal Session",
        "exceptionCode": "INVALID_SESSION_ID",
        "exceptionMessage": "Invalid Session ID found in SessionHeader: Illegal Session",
    }


def test_unknown_operation_is_a_client_fault(info: dict[str, Any]) -> None:
    got = fault(post(info, envelope(info["access_token"], "<urn:merge/>")))
    assert got["faultcode"] == "soapenv:Client"
    assert got["faultstring"] == ("No operation available for request "
                                  "{urn:partner.soap.sforce.com}merge, please check the WSDL "
                                  "for the service.")


def test_more_than_100_leads_is_a_fault(info: dict[str, Any]) -> None:
    body = convert_call(*[lead_convert(leadId=make_id("00Q", i)) for i in range(101)])
    got = fault(post(info, envelope(info["access_token"], body)))
    assert (got["faultcode"], got["exceptionCode"]) == ("sf:EXCEEDED_ID_LIMIT",
                                                        "EXCEEDED_ID_LIMIT")


def test_dtd_is_refused(info: dict[str, Any]) -> None:
    xml = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "x">]>' + envelope(
        info["access_token"], convert_call()).split("?>", 1)[1]
    got = fault(post(info, xml))
    assert got["faultcode"] == "soapenv:Client"
    assert "DOCTYPE is disallowed" in (got["faultstring"] or "")


def test_retired_version_is_a_fault(info: dict[str, Any]) -> None:
    got = fault(post(info, envelope(info["access_token"], convert_call()),
                     path="/services/Soap/u/20.0"))
    assert got["faultcode"] == "sf:UNSUPPORTED_API_VERSION"


def test_injected_request_fault_becomes_a_soap_fault(
    emulator: Emulator, info: dict[str, Any]
) -> None:
    emulator.org.faults.arm_preset("server_error", kind="soap_convertLead", times=1)
    got = fault(post(info, envelope(info["access_token"], convert_call())))
    assert (got["faultcode"], got["exceptionCode"]) == ("sf:UNKNOWN_EXCEPTION",
                                                        "UNKNOWN_EXCEPTION")


def test_empty_call_returns_an_empty_response(info: dict[str, Any]) -> None:
    assert results(post(info, envelope(info["access_token"], convert_call()))) == []
