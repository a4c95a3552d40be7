"""The one TLS channel to the Pub/Sub API, and its calls with session metadata attached.

Every RPC carries ``accesstoken``, ``instanceurl`` and ``tenantid`` from the current
:class:`Session`. Unary calls (GetTopic, GetSchema) refresh the session once when it is
rejected; failures leave this module already classified (:mod:`subscriber.errors`). Unary
calls and login waits end at once when the client is closed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any, Protocol

import grpc

from proto import pubsub_api_pb2 as pb
from proto import pubsub_api_pb2_grpc as pb_grpc
from subscriber.auth import Session, SessionProvider
from subscriber.errors import Fatal, Reauthenticate, RetryLater, classify_rpc_error
from subscriber.settings import IntakeSettings


def open_channel(settings: IntakeSettings) -> grpc.Channel:
    """A secure channel: the configured CA (system roots otherwise), HTTP/2 keepalive pings
    on idle connections, and a receive limit big enough for a full 100-event response."""
    roots = None
    if settings.ca_file is not None:
        try:
            roots = settings.ca_file.read_bytes()
        except OSError as exc:
            raise Fatal(f"cannot read CA file {settings.ca_file}: {exc.strerror}") from None
    options = [
        ("grpc.max_receive_message_length", settings.max_receive_bytes),
        ("grpc.keepalive_time_ms", int(settings.ping_interval_s * 1000)),
        ("grpc.keepalive_timeout_ms", int(settings.ping_timeout_s * 1000)),
        ("grpc.keepalive_permit_without_calls", 0),
        ("grpc.http2.max_pings_without_data", 0),
    ]
    return grpc.secure_channel(settings.endpoint, grpc.ssl_channel_credentials(roots), options)


class StreamCall(Protocol):
    """A running Subscribe call: iterate for responses; ``cancel()`` from any thread."""

    def __iter__(self) -> Iterator[pb.FetchResponse]: ...

    def __next__(self) -> pb.FetchResponse: ...

    def cancel(self) -> bool: ...


def call_metadata(session: Session) -> tuple[tuple[str, str], ...]:
    return (
        ("accesstoken", session.access_token),
        ("instanceurl", session.instance_url),
        ("tenantid", session.org_id),
    )


class PubSubClient:
    """The RPCs the intake uses, on one channel, authenticated by one session provider.

    :meth:`close` (from any thread) cancels the unary calls in flight and any wait for a
    login, so a stopping intake never waits out ``rpc_timeout_s`` or a slow token endpoint.
    """

    def __init__(
        self, channel: grpc.Channel, sessions: SessionProvider, rpc_timeout_s: float
    ) -> None:
        self._stub = pb_grpc.PubSubStub(channel)
        self._sessions = sessions
        self._timeout_s = rpc_timeout_s
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._in_flight: set[Any] = set()

    def close(self) -> None:
        """Cancel what is in flight; later unary calls fail with :class:`RetryLater`."""
        self._closed.set()
        with self._lock:
            calls = list(self._in_flight)
        for call in calls:
            call.cancel()

    def get_topic(self, topic: str) -> pb.TopicInfo:
        request = pb.TopicRequest(topic_name=topic)
        info: pb.TopicInfo = self._unary(self._stub.GetTopic, request, f"GetTopic {topic}")
        return info

    def get_schema(self, schema_id: str) -> str:
        """The schema JSON for ``schema_id``."""
        request = pb.SchemaRequest(schema_id=schema_id)
        info: pb.SchemaInfo = self._unary(self._stub.GetSchema, request, f"GetSchema {schema_id}")
        return info.schema_json

    def publish(self, topic: str, events: list[pb.ProducerEvent]) -> pb.PublishResponse:
        """Publish ``events`` (the admin's ``lifecycle-sync publish``); per-event results."""
        request = pb.PublishRequest(topic_name=topic, events=events)
        response: pb.PublishResponse = self._unary(self._stub.Publish, request,
                                                   f"Publish {topic}")
        return response

    def subscribe(self, requests: Iterator[pb.FetchRequest], session: Session) -> StreamCall:
        """Open a Subscribe stream; the caller iterates it and may ``cancel()`` it."""
        call: StreamCall = self._stub.Subscribe(
            requests, metadata=call_metadata(session)
        )
        return call

    def _unary(self, method: Any, request: Any, what: str) -> Any:
        session = self._sessions.current(self._closed)
        for attempt in (1, 2):
            try:
                return self._call(method, request, session, what)
            except grpc.RpcError as exc:
                error = classify_rpc_error(exc, what)
                if not isinstance(error, Reauthenticate) or attempt == 2:
                    raise error from None
                session = self._sessions.refresh(session.access_token, self._closed)
        raise AssertionError("unreachable")

    def _call(self, method: Any, request: Any, session: Session, what: str) -> Any:
        """One unary call that :meth:`close` can cancel."""
        future = method.future(request, metadata=call_metadata(session), timeout=self._timeout_s)
        with self._lock:
            self._in_flight.add(future)
        try:
            if self._closed.is_set():
                future.cancel()
            return future.result()
        except grpc.FutureCancelledError:
            raise RetryLater(f"{what} cancelled: the intake is stopping") from None
        finally:
            with self._lock:
                self._in_flight.discard(future)
