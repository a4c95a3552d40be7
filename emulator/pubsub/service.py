"""The ``eventbus.v1.PubSub`` gRPC service of the emulator.

Every RPC authenticates from the ``accesstoken``, ``instanceurl`` and ``tenantid`` metadata
against tokens the emulator issued. Failures are reported as Salesforce does (status,
``error-code`` and ``rpc-id`` trailers). ManagedSubscribe is not emulated and says so.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import grpc

from emulator.identity import OrgIdentity
from emulator.pubsub import errors as err
from emulator.pubsub.bus import EventBus, PublishOutcome
from emulator.pubsub.faults import PubSubFaults
from emulator.pubsub.publish_stream import PublishStream
from emulator.pubsub.subscribe import StreamSettings, SubscribeStream
from emulator.tokens import TokenInfo, TokenStore
from proto import pubsub_api_pb2 as pb
from proto import pubsub_api_pb2_grpc as pb_grpc

# Salesforce: keep a PublishRequest under 3 MB; over gRPC's 4 MB the call fails with
# UNAVAILABLE (and a PublishStream closes). The server accepts bigger messages so that this
# documented answer, not gRPC's own RESOURCE_EXHAUSTED, is what clients see.
MAX_PUBLISH_REQUEST_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Authenticator:
    """Checks the three call-metadata headers every Pub/Sub RPC must carry."""

    tokens: TokenStore
    identity: OrgIdentity
    instance_url: str

    def check(self, context: grpc.ServicerContext) -> TokenInfo:
        md = {k.lower(): v for k, v in context.invocation_metadata() if isinstance(v, str)}
        info = self.tokens.check(md.get("accesstoken", ""))
        if info is None:
            raise _auth_failure("The access token is invalid or has expired.")
        if md.get("instanceurl", "").rstrip("/").lower() != self.instance_url.lower():
            raise _auth_failure("The instanceurl header doesn't match the org's instance URL.")
        if not self._tenant_matches(md.get("tenantid", "")):
            raise _auth_failure("The tenantid header doesn't match the org ID of the session.")
        return info

    def _tenant_matches(self, tenant: str) -> bool:
        org_id = tenant.rsplit("/", 1)[-1] if tenant.startswith("core/") else tenant
        if len(org_id) not in (15, 18):
            return False
        return self.identity.org_id == org_id or self.identity.org_id[:15] == org_id


def _auth_failure(message: str) -> err.RpcFailure:
    return err.RpcFailure(grpc.StatusCode.UNAUTHENTICATED, err.AUTH_ERROR, message)


class PubSubService(pb_grpc.PubSubServicer):
    """Implements the six RPCs over an :class:`EventBus`."""

    def __init__(
        self, bus: EventBus, auth: Authenticator, faults: PubSubFaults, settings: StreamSettings
    ) -> None:
        self._bus = bus
        self._auth = auth
        self._faults = faults
        self._settings = settings

    def GetTopic(self, request: pb.TopicRequest, context: grpc.ServicerContext) -> pb.TopicInfo:
        rpc_id = err.new_rpc_id()
        try:
            self._delay()
            self._auth.check(context)
            name, schema_id, _ = self._topic(request.topic_name)
        except err.RpcFailure as failure:
            err.abort_with(context, failure, rpc_id)
        return pb.TopicInfo(
            topic_name=name, tenant_guid=self._auth.identity.tenant_guid,
            can_publish=_can_publish(name),
            can_subscribe=True, schema_id=schema_id, rpc_id=rpc_id,
        )

    def GetSchema(self, request: pb.SchemaRequest, context: grpc.ServicerContext) -> pb.SchemaInfo:
        rpc_id = err.new_rpc_id()
        try:
            self._delay()
            self._auth.check(context)
            found = self._bus.store.schema(request.schema_id)
            if found is None:
                raise err.RpcFailure(
                    grpc.StatusCode.NOT_FOUND, err.SCHEMA_NOT_FOUND,
                    f"The schema ID {request.schema_id!r} wasn't found.",
                )
        except err.RpcFailure as failure:
            err.abort_with(context, failure, rpc_id)
        return pb.SchemaInfo(schema_json=found[1], schema_id=request.schema_id, rpc_id=rpc_id)

    def Publish(
        self, request: pb.PublishRequest, context: grpc.ServicerContext
    ) -> pb.PublishResponse:
        rpc_id = err.new_rpc_id()
        try:
            self._delay()
            self._auth.check(context)
            return self._publish(request, rpc_id)
        except err.RpcFailure as failure:
            err.abort_with(context, failure, rpc_id)

    def PublishStream(
        self, request_iterator: Iterator[pb.PublishRequest], context: grpc.ServicerContext
    ) -> Iterator[pb.PublishResponse]:
        rpc_id = err.new_rpc_id()
        stream = PublishStream(
            lambda request: self._publish(request, rpc_id),
            self._faults, self._settings.publish_stream_idle_s, context,
        )
        try:
            self._auth.check(context)
            yield from stream.run(request_iterator)
        except err.RpcFailure as failure:
            err.abort_with(context, failure, rpc_id)

    def Subscribe(
        self, request_iterator: Iterator[pb.FetchRequest], context: grpc.ServicerContext
    ) -> Iterator[pb.FetchResponse]:
        stream = SubscribeStream(
            self._bus, self._faults, self._settings, context,
            lambda: self._auth.tokens.check(_token(context)) is not None,
        )
        try:
            self._auth.check(context)
            yield from stream.run(request_iterator)
        except err.RpcFailure as failure:
            err.abort_with(context, failure, stream.rpc_id)

    def ManagedSubscribe(
        self, request_iterator: Iterator[pb.ManagedFetchRequest], context: grpc.ServicerContext
    ) -> Iterator[pb.ManagedFetchResponse]:
        rpc_id = err.new_rpc_id()
        try:
            self._auth.check(context)
            raise err.RpcFailure(
                grpc.StatusCode.UNIMPLEMENTED, err.MANAGED_NOT_SUPPORTED,
                "ManagedSubscribe (beta) is not emulated; use Subscribe.",
            )
        except err.RpcFailure as failure:
            err.abort_with(context, failure, rpc_id)
        yield  # pragma: no cover - makes this a generator, as the streaming RPC requires

    # -- helpers ------------------------------------------------------------------------

    def _topic(self, name: str) -> tuple[str, str, int]:
        info = self._bus.store.topic(name)
        if info is None:
            raise err.RpcFailure(
                grpc.StatusCode.NOT_FOUND, err.TOPIC_NOT_FOUND,
                f"The topic {name!r} doesn't exist or you don't have access to it.",
            )
        return info

    def _publish(self, request: pb.PublishRequest, rpc_id: str) -> pb.PublishResponse:
        name, schema_id, _ = self._topic(request.topic_name)
        if request.ByteSize() > MAX_PUBLISH_REQUEST_BYTES:
            raise err.RpcFailure(
                grpc.StatusCode.UNAVAILABLE, err.REQUEST_TOO_LARGE,
                f"The publish request is {request.ByteSize()} bytes; the limit is "
                f"{MAX_PUBLISH_REQUEST_BYTES} (keep requests under 3 MB).",
            )
        if not _can_publish(name):
            raise err.RpcFailure(
                grpc.StatusCode.PERMISSION_DENIED, err.CANNOT_PUBLISH,
                f"You can't publish to {name}: change events are published by Salesforce.",
            )
        outcomes = self._bus.publish(
            name, [(e.id, e.schema_id, e.payload) for e in request.events]
        )
        return pb.PublishResponse(
            results=[_result(o) for o in outcomes], schema_id=schema_id, rpc_id=rpc_id
        )

    def _delay(self) -> None:
        if self._faults.delay_s:
            time.sleep(self._faults.delay_s)


def _can_publish(topic: str) -> bool:
    """Platform-event channels accept publishing; change-event channels (/data/) don't."""
    return topic.lower().startswith("/event/")


def _token(context: grpc.ServicerContext) -> str:
    for key, value in context.invocation_metadata():
        if key.lower() == "accesstoken" and isinstance(value, str):
            return value
    return ""


def _result(outcome: PublishOutcome) -> pb.PublishResult:
    if outcome.error:
        return pb.PublishResult(
            error=pb.Error(code=pb.PUBLISH, msg=outcome.error),
            correlation_key=outcome.correlation_key,
        )
    return pb.PublishResult(replay_id=outcome.replay_id, correlation_key=outcome.correlation_key)
