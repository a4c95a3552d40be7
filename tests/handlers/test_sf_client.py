"""Whole-call failures are classified in one place (``handlers.sf_client.classify``)."""

from __future__ import annotations

import json

import pytest
import requests

from handlers import soap_convert
from handlers.errors import CallRejected, GatewayError, RequestLimited, TransientError
from handlers.plan import ConvertRequest
from handlers.sf_client import _mapped, _raise_for_soap, classify
from service.apply_loop import VALUE_DEPENDENT_CODES


def _body(code: str, message: str = "m") -> list[dict[str, str]]:
    return [{"errorCode": code, "message": message}]


@pytest.mark.parametrize(("status", "content", "kind"), [
    (500, _body("UNKNOWN_EXCEPTION"), TransientError),
    (503, _body("SERVER_UNAVAILABLE"), TransientError),
    (502, "<html>bad gateway</html>", TransientError),
    (400, _body("UNABLE_TO_LOCK_ROW"), TransientError),
    (403, _body("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."), RequestLimited),
    (400, _body("MALFORMED_QUERY"), CallRejected),
    (400, _body("INVALID_FIELD"), CallRejected),
    (404, _body("NOT_FOUND"), CallRejected),
])
def test_classify(status, content, kind):
    error = classify(status, content)
    assert type(error) is kind
    if kind is CallRejected:
        assert error.error_class == content[0]["errorCode"]


def test_invalid_session_is_its_own_class():
    error = classify(401, _body("INVALID_SESSION_ID"))
    assert error.error_class == "INVALID_SESSION_ID"


def _soap_response(status: int, body: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body.encode()
    return response


def _fault(code: str, message: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv='
            '"http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.'
            'sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
            f'<soapenv:Fault><faultcode>sf:{code}</faultcode><faultstring>{code}: {message}'
            '</faultstring><detail><sf:UnexpectedErrorFault xsi:type="sf:UnexpectedErrorFault">'
            f'<sf:exceptionCode>{code}</sf:exceptionCode><sf:exceptionMessage>{message}'
            '</sf:exceptionMessage></sf:UnexpectedErrorFault></detail></soapenv:Fault>'
            '</soapenv:Body></soapenv:Envelope>')


def test_soap_fault_code_and_message_are_parsed_not_the_envelope():
    with pytest.raises(CallRejected) as caught:
        _raise_for_soap(_soap_response(500, _fault("INSUFFICIENT_ACCESS", "no convert")))
    assert caught.value.code == "INSUFFICIENT_ACCESS"
    assert str(caught.value) == "SOAP fault INSUFFICIENT_ACCESS: no convert"
    assert caught.value.code not in VALUE_DEPENDENT_CODES  # holds back, poisons nothing
    with pytest.raises(CallRejected) as caught:
        _raise_for_soap(_soap_response(500, _fault("UNSUPPORTED_API_VERSION", "v99")))
    assert caught.value.code == "UNSUPPORTED_API_VERSION"
    assert "Envelope" not in str(caught.value)


@pytest.mark.parametrize(("body", "kind"), [
    (_fault("INVALID_SESSION_ID", "expired"), GatewayError),
    (_fault("REQUEST_LIMIT_EXCEEDED", "TotalRequests"), RequestLimited),
    (_fault("UNABLE_TO_LOCK_ROW", "locked"), TransientError),
    ("<html>bad gateway", TransientError),  # malformed XML is transient, never fatal
    ("<a>no fault</a>", TransientError),
])
def test_other_soap_failures(body, kind):
    with pytest.raises(kind):
        _raise_for_soap(_soap_response(500, body))


def test_empty_or_unknown_codes_are_not_value_dependent():
    assert "" not in VALUE_DEPENDENT_CODES


def test_malformed_answers_are_transient_not_fatal():
    with pytest.raises(TransientError):
        _mapped(lambda: json.loads("<html>proxy error</html>"))
    with pytest.raises(TransientError):
        soap_convert.results(b"<soapenv:Envelope><unclosed", [ConvertRequest("00Q1", None, None)])
