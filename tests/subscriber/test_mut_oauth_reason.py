"""How a failed login's network cause is worded (``oauth.network_reason``): the class of the
``requests`` error and the cause found underneath, through urllib3's ``reason``."""

from __future__ import annotations

import errno

import requests
from urllib3.exceptions import MaxRetryError

from subscriber.oauth import network_reason


def test_the_refusal_under_urllib3s_reason_is_named() -> None:
    refused = ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
    retries = MaxRetryError(None, "/services/oauth2/token")  # type: ignore[arg-type]
    retries.reason = refused  # urllib3 keeps the cause here, not in __cause__ or args
    wrapped = requests.ConnectionError("login failed")
    wrapped.__context__ = retries
    assert network_reason(wrapped) == "ConnectionError: connection refused"


def test_an_error_with_no_cause_underneath_is_named_by_its_class() -> None:
    assert network_reason(requests.ConnectionError()) == "ConnectionError"
