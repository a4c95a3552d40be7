"""The SOAP partner endpoint, ``POST /services/Soap/u/{version}[/{orgId}]``: ``convertLead``.

REST has no lead conversion, so clients convert over SOAP with their OAuth token in
``SessionHeader/sessionId``. Calls pass the same gate as REST (session, daily limit, call
counting as ``soap_convertLead``, injected faults); refusals become SOAP faults (HTTP 500,
``sf:<ExceptionCode>`` with an ``UnexpectedErrorFault`` detail) and per-lead failures are
``success=false`` results in a 200 response, as Salesforce answers. ``CallOptions/client``
names the client in the change events' ``changeOrigin``.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET

from werkzeug.wrappers import Request, Response

from emulator.org.api_limits import CONVERT_LEAD_MAX_RECORDS
from emulator.org.calls import NEWEST_VERSION, OLDEST_VERSION
from emulator.org.errors import ApiError, DmlError, ErrorItem
from emulator.org.gate import admit, soap_origin
from emulator.org.runtime import Org
from emulator.org.soap_convert import Converted, LeadConvert, convert_lead
from emulator.org.soap_xml import (
    PARTNER,
    SoapFault,
    child_bool,
    child_text,
    element,
    limit_info_header,
    local_name,
    namespace,
    parse_envelope,
    render_fault,
    render_response,
)

log = logging.getLogger(__name__)
SOAP_PATH = re.compile(r"/services/Soap/u/(?P<version>[^/]+)(?:/(?P<org_id>[^/]+))?/?")
MAX_LEAD_CONVERTS = CONVERT_LEAD_MAX_RECORDS
CALL_KIND = "soap_convertLead"
SESSION_FAULT = "Invalid Session ID found in SessionHeader: Illegal Session"
CONTENT_TYPE = "text/xml; charset=utf-8"


def handle_soap(org: Org, request: Request) -> Response | None:
    """The response to a partner SOAP request; None when the path is not the endpoint."""
    match = SOAP_PATH.fullmatch(request.path)
    if match is None:
        return None
    try:
        body = soap_call(org, request, match.group("version"))
    except SoapFault as fault:
        return Response(render_fault(fault), status=fault.status, content_type=CONTENT_TYPE)
    except Exception:  # Salesforce answers any server bug with this fault
        log.exception("SOAP call failed")
        unknown = SoapFault("UNKNOWN_EXCEPTION", "An unexpected error occurred.")
        return Response(render_fault(unknown), status=500, content_type=CONTENT_TYPE)
    return Response(body, status=200, content_type=CONTENT_TYPE)


def soap_call(org: Org, request: Request, version: str) -> bytes:
    """Run one call and render its response; raises SoapFault for anything call-level."""
    if request.method != "POST":
        raise SoapFault("Client", f"HTTP method {request.method} is not supported; use POST",
                        client=True)
    _check_version(version)
    envelope = parse_envelope(request.get_data())
    operation = envelope.operation
    if operation is None or operation.tag != f"{{{PARTNER}}}convertLead":
        raise _no_operation(operation)
    try:
        session = admit(org, envelope.header_value("SessionHeader", "sessionId") or "", CALL_KIND)
    except ApiError as exc:
        raise _api_fault(exc) from exc
    requests = [lead_convert(e) for e in operation if local_name(e.tag) == "leadConverts"]
    if len(requests) > MAX_LEAD_CONVERTS:
        raise SoapFault("EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than "
                        f"{MAX_LEAD_CONVERTS} records into this call")
    origin = soap_origin(version, envelope.header_value("CallOptions", "client") or "")
    results = _convert_all(org, session.user_id, origin, requests)
    header = limit_info_header(org.usage.used(), org.usage.daily_limit)
    return render_response("convertLead", results, header)


def lead_convert(node: ET.Element) -> LeadConvert:
    """A ``leadConverts`` element as a request (elements of the partner WSDL's LeadConvert)."""
    return LeadConvert(
        lead_id=child_text(node, "leadId") or None,
        converted_status=child_text(node, "convertedStatus"),
        account_id=child_text(node, "accountId") or None,
        contact_id=child_text(node, "contactId") or None,
        opportunity_id=child_text(node, "opportunityId") or None,
        do_not_create_opportunity=child_bool(node, "doNotCreateOpportunity"),
        opportunity_name=child_text(node, "opportunityName") or None,
        overwrite_lead_source=child_bool(node, "overwriteLeadSource"),
        owner_id=child_text(node, "ownerId") or None,
    )


def _convert_all(org: Org, user_id: str, origin: str, requests: list[LeadConvert]) -> str:
    """The ``<result>`` elements: every lead of one call in one transaction.

    A call is one transaction (its change events share one ``transactionKey``); a lead that
    fails is rolled back to its savepoint and the others still convert, as SOAP calls without
    an AllOrNoneHeader behave.
    """
    parts: list[str] = []
    with org.store.transaction(user_id, origin) as tx:
        for request in requests:
            mark = tx.savepoint()
            try:
                parts.append(_success(convert_lead(org, tx, request)))
            except DmlError as exc:
                tx.rollback_to(mark)
                parts.append(_failure(exc.errors))
    return "".join(parts)


def _success(done: Converted) -> str:
    return "<result>" + "".join((
        element("accountId", done.account_id), element("contactId", done.contact_id),
        element("leadId", done.lead_id), element("opportunityId", done.opportunity_id),
        element("success", True),
    )) + "</result>"


def _failure(errors: list[ErrorItem]) -> str:
    """A failed result: nil IDs and one ``errors`` element per error (Error type order)."""
    rendered = "".join(
        "<errors>" + "".join(element("fields", f) for f in (e.fields or ()))
        + element("message", e.message) + element("statusCode", e.code) + "</errors>"
        for e in errors
    )
    return "<result>" + "".join((
        element("accountId", None), element("contactId", None), rendered,
        element("leadId", None), element("opportunityId", None), element("success", False),
    )) + "</result>"


def _check_version(version: str) -> None:
    """Versions outside the REST API's range are refused, as Salesforce refuses retired ones."""
    try:
        number = float(version)
    except ValueError:
        number = 0.0
    if not OLDEST_VERSION <= number <= NEWEST_VERSION:
        raise SoapFault("UNSUPPORTED_API_VERSION", "Invalid Api version specified on URL")


def _no_operation(operation: ET.Element | None) -> SoapFault:
    """Salesforce's fault for a body element that is not an operation it serves."""
    name = "" if operation is None else f"{{{namespace(operation.tag)}}}{local_name(operation.tag)}"
    return SoapFault("Client", f"No operation available for request {name}, please check the "
                     "WSDL for the service.", client=True)


def _api_fault(exc: ApiError) -> SoapFault:
    """A refused call as SOAP says it (SOAP's session message differs from REST's)."""
    if exc.code == "INVALID_SESSION_ID":
        return SoapFault(exc.code, SESSION_FAULT)
    return SoapFault(exc.code, exc.message, status=exc.status if exc.status >= 500 else 500)
