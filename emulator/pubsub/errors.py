"""Pub/Sub API failures as Salesforce reports them: gRPC status, ``error-code`` and ``rpc-id``.

Every failure carries both trailers, and the status details end with ``rpcId: <id>``, as the
documented ``handling-errors`` page describes. Raising :class:`RpcFailure` anywhere inside a
servicer method gets it reported this way by :func:`abort_with`.
"""

from __future__ import annotations

import uuid
from typing import NoReturn

import grpc

PREFIX = "sfdc.platform.eventbus.grpc."
AUTH_ERROR = PREFIX + "service.auth.error"
SERVICE_UNAVAILABLE = PREFIX + "service.unavailable"
TOPIC_NOT_FOUND = PREFIX + "topic.not.found"
REPLAY_CORRUPTED = PREFIX + "subscription.fetch.replayid.corrupted"
REPLAY_VALIDATION_FAILED = PREFIX + "subscription.fetch.replayid.validation.failed"
TOPIC_MISMATCH = PREFIX + "subscription.fetch.topic.mismatch"
REQUESTED_EVENTS_INVALID = PREFIX + "subscription.fetch.requested.events.invalid"
SCHEMA_NOT_FOUND = PREFIX + "schema.not.found"
CANNOT_SUBSCRIBE = PREFIX + "subscription.topic.cannot.subscribe"
MANAGED_NOT_SUPPORTED = PREFIX + "managed.subscription.developer.name.not.found"
PUBLISH_STREAM_TIMEOUT = PREFIX + "publish.stream.sweeper.timeout"
PUBLISH_TOPIC_MISMATCH = PREFIX + "publish.topic.mismatch"
# Unverified name: Salesforce documents that change events can't be published, not the code.
CANNOT_PUBLISH = PREFIX + "publish.topic.cannot.publish"
# Unverified name: the documented behaviour is UNAVAILABLE for a request over 4 MB.
REQUEST_TOO_LARGE = PREFIX + "publish.request.size.exceeded"


class RpcFailure(Exception):
    """A failure to report to the client with a status and Salesforce error code."""

    def __init__(self, code: grpc.StatusCode, error_code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.error_code = error_code
        self.message = message


def new_rpc_id() -> str:
    return str(uuid.uuid4())


def abort_with(context: grpc.ServicerContext, failure: RpcFailure, rpc_id: str) -> NoReturn:
    """End the call with the failure's status, trailers and ``rpcId`` suffix."""
    context.set_trailing_metadata(
        (("error-code", failure.error_code), ("rpc-id", rpc_id), ("type", "error"))
    )
    context.abort(failure.code, f"{failure.message} rpcId: {rpc_id}")
