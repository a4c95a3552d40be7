"""A small partner-API SOAP envelope for ``convertLead``, and its per-lead results.

No Opportunity is created unless asked (``doNotCreateOpportunity``); the converted status is
the ``LeadStatus`` label with ``IsConverted = true``, read once by the gateway and cached.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

import defusedxml.ElementTree as SafeET

from handlers.errors import TransientError
from handlers.plan import ConvertRequest

_NS = "{urn:partner.soap.sforce.com}"


@dataclass(frozen=True)
class ConvertResult:
    lead_id: str
    success: bool
    account_id: str | None = None
    contact_id: str | None = None
    opportunity_id: str | None = None
    error_code: str = ""
    message: str = ""


def envelope(token: str, client_name: str, requests: Sequence[ConvertRequest],
             converted_status: str, create_opportunity: bool) -> bytes:
    converts = "".join(_lead_convert(r, converted_status, create_opportunity) for r in requests)
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:urn="urn:partner.soap.sforce.com"><soapenv:Header>'
        f"<urn:SessionHeader><urn:sessionId>{escape(token)}</urn:sessionId></urn:SessionHeader>"
        f"<urn:CallOptions><urn:client>{escape(client_name)}</urn:client></urn:CallOptions>"
        f"</soapenv:Header><soapenv:Body><urn:convertLead>{converts}</urn:convertLead>"
        "</soapenv:Body></soapenv:Envelope>"
    ).encode()


def _lead_convert(request: ConvertRequest, status: str, create_opportunity: bool) -> str:
    parts = ["<urn:leadConverts>"]
    if request.account_id:
        parts.append(f"<urn:accountId>{escape(request.account_id)}</urn:accountId>")
    if request.contact_id and request.account_id:
        parts.append(f"<urn:contactId>{escape(request.contact_id)}</urn:contactId>")
    no_opportunity = "false" if create_opportunity else "true"
    parts += [f"<urn:convertedStatus>{escape(status)}</urn:convertedStatus>",
              f"<urn:doNotCreateOpportunity>{no_opportunity}</urn:doNotCreateOpportunity>",
              f"<urn:leadId>{escape(request.lead_id)}</urn:leadId>",
              "<urn:overwriteLeadSource>false</urn:overwriteLeadSource>",
              "<urn:sendNotificationEmail>false</urn:sendNotificationEmail>",
              "</urn:leadConverts>"]
    return "".join(parts)


def fault(body: bytes) -> tuple[str, str] | None:
    """A SOAP fault's code and message: ``sf:exceptionCode`` (else ``faultcode`` without its
    prefix) and ``sf:exceptionMessage`` (else ``faultstring``). None when the body is no
    well-formed XML fault."""
    try:
        root = SafeET.fromstring(body)
    except (SafeET.ParseError, ValueError):
        return None
    node = next((n for n in root.iter() if _local(n.tag) == "Fault"), None)
    if node is None:
        return None
    texts: dict[str, str] = {}
    for child in node.iter():
        texts.setdefault(_local(child.tag), (child.text or "").strip())
    code = texts.get("exceptionCode") or texts.get("faultcode", "").rpartition(":")[2]
    message = texts.get("exceptionMessage") or texts.get("faultstring", "")
    return code, message[:300]


def _local(tag: object) -> str:
    return str(tag).rpartition("}")[2]


def results(body: bytes, requests: Sequence[ConvertRequest]) -> list[ConvertResult]:
    """One result per request, in order (Salesforce answers in input order); a body that is
    no well-formed XML is a transient failure (retried), never fatal to the daemon."""
    try:
        root = SafeET.fromstring(body)
    except (SafeET.ParseError, ValueError):
        raise TransientError("convertLead answered with malformed XML") from None
    found = root.findall(f".//{_NS}result")
    out = []
    for request, node in zip(requests, found, strict=False):
        error = node.find(f"{_NS}errors")
        out.append(ConvertResult(
            lead_id=request.lead_id,
            success=node.findtext(f"{_NS}success") == "true",
            account_id=node.findtext(f"{_NS}accountId") or None,
            contact_id=node.findtext(f"{_NS}contactId") or None,
            opportunity_id=node.findtext(f"{_NS}opportunityId") or None,
            error_code=(error.findtext(f"{_NS}statusCode") or "") if error is not None else "",
            message=(error.findtext(f"{_NS}message") or "") if error is not None else "",
        ))
    for request in requests[len(out):]:
        out.append(ConvertResult(request.lead_id, False, error_code="NO_RESULT",
                                 message="convertLead returned no result for this lead"))
    return out
