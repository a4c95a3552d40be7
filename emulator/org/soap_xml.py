"""SOAP 1.1 envelopes of the partner API: safe parsing, responses and faults.

Kept apart from the operations so every response and fault has the exact shape the partner
WSDL and Salesforce's servers give (default namespace ``urn:partner.soap.sforce.com``, faults
with an ``sf:`` code and an ``UnexpectedErrorFault`` detail), whatever client sends the call.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
import xml.parsers.expat
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER = "urn:partner.soap.sforce.com"
FAULT_NS = "urn:fault.partner.soap.sforce.com"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_NIL = f"{{{XSI}}}nil"


class SoapFault(Exception):
    """A fault to send instead of a response: HTTP 500 with a SOAP Fault body.

    ``code`` is an ExceptionCode (sent as ``sf:<code>`` with an UnexpectedErrorFault detail)
    unless ``client`` is set, for envelope-level errors Salesforce reports as
    ``soapenv:Client`` without detail. ``status`` is the HTTP status: 500, as SOAP faults
    are, except for a server that is unavailable (503).
    """

    def __init__(self, code: str, message: str, client: bool = False, status: int = 500) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.client = client
        self.status = status


@dataclass(frozen=True)
class Envelope:
    """What a request carries: its headers (by local name) and the operation element."""

    headers: dict[str, ET.Element] = field(default_factory=dict)
    operation: ET.Element | None = None

    def header_value(self, header: str, child: str) -> str | None:
        """Text of ``<header><child>`` (e.g. SessionHeader/sessionId), None when absent."""
        element = self.headers.get(header)
        return None if element is None else child_text(element, child)


def parse_envelope(data: bytes) -> Envelope:
    """Parse a request, refusing DTDs so no entity can be declared or expanded."""
    _refuse_doctype(data)
    try:
        root = ET.fromstring(data)  # noqa: S314 - no DTD can reach here (checked above)
    except ET.ParseError as exc:
        raise SoapFault("Client", f"Unable to parse the request: {exc}", client=True) from exc
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise SoapFault("VersionMismatch", "Wrong envelope: expected a SOAP 1.1 Envelope in "
                        f"namespace {SOAP_ENV}", client=True)
    header = root.find(f"{{{SOAP_ENV}}}Header")
    body = root.find(f"{{{SOAP_ENV}}}Body")
    if body is None:
        raise SoapFault("Client", "Missing SOAP Body", client=True)
    headers = {local_name(h.tag): h for h in header} if header is not None else {}
    operation = next(iter(body), None)
    return Envelope(headers, operation)


def _refuse_doctype(data: bytes) -> None:
    """Reject any document type declaration, as Salesforce's parser does."""

    def refuse(*_: object) -> None:
        raise SoapFault(
            "Client", 'DOCTYPE is disallowed when the feature "http://apache.org/xml/features/'
            'disallow-doctype-decl" set to true.', client=True)

    parser = xml.parsers.expat.ParserCreate()
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        raise SoapFault("Client", f"Unable to parse the request: {exc}", client=True) from exc


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def child_text(element: ET.Element, name: str) -> str | None:
    """Text of the first child called ``name`` in any namespace; None when absent or nil."""
    for child in element:
        if local_name(child.tag) == name:
            if child.get(_NIL) in ("true", "1"):
                return None
            return (child.text or "").strip()
    return None


def child_bool(element: ET.Element, name: str) -> bool:
    """An ``xsd:boolean`` child; absent counts as false, as for the WSDL's non-nillable flags."""
    text = child_text(element, name)
    if text is None or text == "":
        return False
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise SoapFault("Client", f"Unable to parse boolean value '{text}' for {name}", client=True)


def render_response(operation: str, body: str, header: str = "") -> bytes:
    """A partner response envelope around ``<{operation}Response>`` content."""
    head = f"<soapenv:Header>{header}</soapenv:Header>" if header else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" xmlns="{PARTNER}" xmlns:xsi="{XSI}">'
        f"{head}<soapenv:Body><{operation}Response>{body}</{operation}Response>"
        "</soapenv:Body></soapenv:Envelope>"
    ).encode()


def render_fault(fault: SoapFault) -> bytes:
    """The fault envelope; ExceptionCode faults carry ``sf:UnexpectedErrorFault`` detail."""
    if fault.client:
        code, text, detail = f"soapenv:{fault.code}", fault.message, ""
    else:
        code, text = f"sf:{fault.code}", f"{fault.code}: {fault.message}"
        detail = (
            '<detail><sf:UnexpectedErrorFault xsi:type="sf:UnexpectedErrorFault">'
            f"<sf:exceptionCode>{escape(fault.code)}</sf:exceptionCode>"
            f"<sf:exceptionMessage>{escape(fault.message)}</sf:exceptionMessage>"
            "</sf:UnexpectedErrorFault></detail>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" xmlns:sf="{FAULT_NS}" xmlns:xsi="{XSI}">'
        f"<soapenv:Body><soapenv:Fault><faultcode>{escape(code)}</faultcode>"
        f"<faultstring>{escape(text)}</faultstring>{detail}</soapenv:Fault>"
        "</soapenv:Body></soapenv:Envelope>"
    ).encode()


def element(name: str, value: str | bool | int | None) -> str:
    """One simple element; None becomes ``xsi:nil``, booleans ``true``/``false``."""
    if value is None:
        return f'<{name} xsi:nil="true"/>'
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{name}>{escape(str(value))}</{name}>"


def limit_info_header(current: int, limit: int) -> str:
    """The ``LimitInfoHeader`` the partner API returns with the org's API usage."""
    return (
        "<LimitInfoHeader><limitInfo>"
        f"<current>{current}</current><limit>{limit}</limit><type>API REQUESTS</type>"
        "</limitInfo></LimitInfoHeader>"
    )
