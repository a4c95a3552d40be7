"""Whole-call failures are classified in one place (``handlers.sf_client.classify``)."""

from __future__ import annotations

import pytest

from handlers.errors import CallRejected, RequestLimited, TransientError
from handlers.sf_client import classify


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
