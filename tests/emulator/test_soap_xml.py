"""SOAP envelope parsing and rendering: DTD refusal, headers, nil handling, fault shapes."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from emulator.org.soap_xml import (
    PARTNER,
    SoapFault,
    child_bool,
    child_text,
    element,
    parse_envelope,
    render_fault,
    render_response,
)

ENV = "http://schemas.xmlsoap.org/soap/envelope/"


def envelope(body: str, header: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{ENV}" '
        f'xmlns:urn="{PARTNER}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<soapenv:Header>{header}</soapenv:Header><soapenv:Body>{body}</soapenv:Body>"
        "</soapenv:Envelope>"
    ).encode()


def test_headers_and_operation_are_found_by_local_name() -> None:
    parsed = parse_envelope(envelope(
        "<urn:convertLead><urn:leadConverts/></urn:convertLead>",
        "<urn:SessionHeader><urn:sessionId> tok </urn:sessionId></urn:SessionHeader>"
        "<urn:CallOptions><urn:client>lifecycle-sync</urn:client></urn:CallOptions>",
    ))
    assert parsed.header_value("SessionHeader", "sessionId") == "tok"
    assert parsed.header_value("CallOptions", "client") == "lifecycle-sync"
    assert parsed.header_value("Missing", "x") is None
    assert parsed.operation is not None
    assert parsed.operation.tag == f"{{{PARTNER}}}convertLead"


@pytest.mark.parametrize("doc", [
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',
    b'<!DOCTYPE foo SYSTEM "file:///etc/passwd"><foo/>',
])
def test_dtds_are_refused_before_any_entity_is_expanded(doc: bytes) -> None:
    with pytest.raises(SoapFault, match="DOCTYPE is disallowed") as info:
        parse_envelope(doc)
    assert info.value.client


@pytest.mark.parametrize(("doc", "code"), [
    (b"<not xml", "Client"),
    (b'<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"/>', "VersionMismatch"),
    (f'<e:Envelope xmlns:e="{ENV}"/>'.encode(), "Client"),
])
def test_malformed_envelopes_are_client_faults(doc: bytes, code: str) -> None:
    with pytest.raises(SoapFault) as info:
        parse_envelope(doc)
    assert (info.value.code, info.value.client) == (code, True)


def test_nil_and_boolean_children() -> None:
    node = ET.fromstring(
        '<a xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><id xsi:nil="true"/>'
        "<t>true</t><one>1</one><f>false</f><bad>yes</bad></a>"
    )
    assert child_text(node, "id") is None
    assert (child_bool(node, "t"), child_bool(node, "one"), child_bool(node, "f")) == (
        True, True, False)
    assert child_bool(node, "absent") is False
    with pytest.raises(SoapFault, match="boolean"):
        child_bool(node, "bad")


def test_fault_has_the_documented_shape() -> None:
    root = ET.fromstring(render_fault(SoapFault(
        "INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader: Illegal Session")))
    fault = root.find(f"{{{ENV}}}Body/{{{ENV}}}Fault")
    assert fault is not None
    assert fault.findtext("faultcode") == "sf:INVALID_SESSION_ID"
    assert fault.findtext("faultstring") == (
        "INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session")
    sf = "urn:fault.partner.soap.sforce.com"
    detail = fault.find(f"detail/{{{sf}}}UnexpectedErrorFault")
    assert detail is not None
    assert detail.findtext(f"{{{sf}}}exceptionCode") == "INVALID_SESSION_ID"
    assert detail.findtext(f"{{{sf}}}exceptionMessage", "").startswith("Invalid Session ID")


def test_client_faults_have_no_detail() -> None:
    root = ET.fromstring(render_fault(SoapFault("Client", "bad <input>", client=True)))
    fault = root.find(f"{{{ENV}}}Body/{{{ENV}}}Fault")
    assert fault is not None
    assert fault.findtext("faultcode") == "soapenv:Client"
    assert fault.findtext("faultstring") == "bad <input>"
    assert fault.find("detail") is None


def test_response_uses_the_partner_default_namespace() -> None:
    body = element("leadId", "00Q") + element("opportunityId", None) + element("success", True)
    root = ET.fromstring(render_response("convertLead", f"<result>{body}</result>"))
    result = root.find(f"{{{ENV}}}Body/{{{PARTNER}}}convertLeadResponse/{{{PARTNER}}}result")
    assert result is not None
    assert [local.tag.split("}")[1] for local in result] == ["leadId", "opportunityId", "success"]
    assert result.findtext(f"{{{PARTNER}}}success") == "true"
    nil = result.find(f"{{{PARTNER}}}opportunityId")
    assert nil is not None
    assert nil.get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true"
