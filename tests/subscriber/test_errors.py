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


class _BareRpcError(grpc.RpcError):
    """What a failed call may carry at the least: no code, details or trailers at all."""


class _OddRpcError(grpc.RpcError):
    """Trailers as bytes with mixed-case keys, no details (as some proxies deliver them)."""

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.INVALID_ARGUMENT

    def details(self) -> str:
        return ""

    def trailing_metadata(self) -> Any:
        return (("Error-Code", (P + "subscription.fetch.replayid.corrupted").encode()),
                ("RPC-ID", b"r-\xff"))


def test_the_message_and_ids_are_exact() -> None:
    error = classify_rpc_error(FakeRpcError(S.NOT_FOUND, P + "topic.not.found", "no topic"),
                               "GetTopic /event/X__e")
    assert str(error) == f"GetTopic /event/X__e failed: NOT_FOUND {P}topic.not.found: no topic"
    assert (error.error_code, error.rpc_id) == (P + "topic.not.found", "r-1")


def test_bytes_trailers_and_missing_parts_are_read_safely() -> None:
    odd = classify_rpc_error(_OddRpcError(), "Subscribe /event/X__e")
    assert type(odd) is ReplayRejected
    assert (odd.error_code, odd.rpc_id) == (P + "subscription.fetch.replayid.corrupted",
                                            "r-\ufffd")
    assert str(odd) == (f"Subscribe /event/X__e failed: INVALID_ARGUMENT {P}subscription.fetch."
                        "replayid.corrupted: (no details)")
    bare = classify_rpc_error(_BareRpcError(), "GetSchema s1")
    assert type(bare) is RetryLater  # unknown: transient, retried with backoff
    assert str(bare) == "GetSchema s1 failed: UNKNOWN (no error-code): (no details)"
    assert (bare.error_code, bare.rpc_id) == ("", "")


def test_errors_raised_without_server_ids_carry_empty_ones() -> None:
    error = Fatal("GetTopic says the integration user cannot subscribe")
    assert (error.error_code, error.rpc_id) == ("", "")
