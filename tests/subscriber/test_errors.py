"""Every failed call is classified once, by status and the ``error-code`` trailer."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from subscriber.errors import (
    Fatal,
    Reauthenticate,
    ReplayRejected,
    RetryLater,
    SubscriberError,
    classify_rpc_error,
)

P = "sfdc.platform.eventbus.grpc."


class FakeRpcError(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, error_code: str = "", details: str = "x") -> None:
        self._code, self._error_code, self._details = code, error_code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def trailing_metadata(self) -> Any:
        md = (("rpc-id", "r-1"),)
        return md + ((("error-code", self._error_code),) if self._error_code else ())


S = grpc.StatusCode


@pytest.mark.parametrize(
    ("code", "error_code", "expected"),
    [
        (S.UNAVAILABLE, "", RetryLater),  # RST_STREAM arrives like this
        (S.INTERNAL, P + "service.unavailable", RetryLater),
        (S.CANCELLED, "", RetryLater),
        (S.DEADLINE_EXCEEDED, "", RetryLater),
        (S.RESOURCE_EXHAUSTED, P + "service.protection.triggered", RetryLater),
        (S.UNKNOWN, "", RetryLater),
        (S.UNAUTHENTICATED, P + "service.auth.error", Reauthenticate),
        (S.INTERNAL, P + "service.auth.refresh.invalid", Reauthenticate),
        (S.INVALID_ARGUMENT, P + "subscription.fetch.replayid.corrupted", ReplayRejected),
        (S.INVALID_ARGUMENT, P + "subscription.fetch.replayid.validation.failed",
         ReplayRejected),
        (S.NOT_FOUND, P + "topic.not.found", Fatal),
        (S.PERMISSION_DENIED, "", Fatal),
        (S.INVALID_ARGUMENT, P + "subscription.topic.cannot.subscribe", Fatal),
        (S.INVALID_ARGUMENT, P + "subscription.fetch.topic.mismatch", Fatal),
        (S.UNIMPLEMENTED, "", Fatal),
    ],
)
def test_classification(code: S, error_code: str, expected: type[SubscriberError]) -> None:
    error = classify_rpc_error(FakeRpcError(code, error_code), "Subscribe /event/X__e")
    assert type(error) is expected
    assert error.error_code == error_code
    assert error.rpc_id == "r-1"
    assert code.name in str(error)
    assert "Subscribe /event/X__e" in str(error)
