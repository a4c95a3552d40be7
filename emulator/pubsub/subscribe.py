"""One Subscribe call: the documented pull-based flow control, keepalives and idle close.

- Topic, replay preset and replay ID come from the first FetchRequest only; later requests add
  ``num_requested`` to what is pending (at most 100 outstanding); a later request naming
  another topic fails with ``subscription.fetch.topic.mismatch``.
- Never more events go out than are pending; each response says what is still pending.
- With nothing to send, an empty response carrying ``latest_replay_id`` goes out every
  keepalive interval. ``latest_replay_id`` never runs ahead of undelivered events.
- When nothing is requested and the client sends no FetchRequest for the idle timeout, the
  server ends the stream. Keepalives do not count as activity: the idle clock starts at the
  later of the last FetchRequest and the last delivered event.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import grpc

from emulator.pubsub import errors as err
from emulator.pubsub.bus import EventBus
from emulator.pubsub.faults import AbortPlan, PubSubFaults
from emulator.pubsub.store import StoredEvent, now_ms
from proto import pubsub_api_pb2 as pb

MAX_PENDING = 100
MAX_RESPONSE_BYTES = 3 * 1024 * 1024
_POLL_S = 0.2


@dataclass(frozen=True)
class StreamSettings:
    """Timing rules of the server (Salesforce: 270 s keepalive, 60 s idle, 72 h retention).

    ``publish_stream_idle_s``: a PublishStream that sends no request carrying at least one
    event for this long is closed with ``publish.stream.sweeper.timeout``.
    """

    keepalive_s: float = 270.0
    idle_timeout_s: float = 60.0
    retention_s: float = 72 * 3600.0
    publish_stream_idle_s: float = 70.0


class SubscribeStream:
    """Serves one Subscribe call; :meth:`run` is the response generator."""

    def __init__(
        self,
        bus: EventBus,
        faults: PubSubFaults,
        settings: StreamSettings,
        context: grpc.ServicerContext,
        still_authorized: Callable[[], bool],
    ) -> None:
        self._bus = bus
        self._faults = faults
        self._settings = settings
        self._context = context
        self._still_authorized = still_authorized
        self._cond = bus.store.changed
        self._topic = ""
        self._position = 0
        self._pending = 0
        self._opened_at = time.monotonic()
        self._last_request = time.monotonic()
        self._last_response = time.monotonic()
        self._last_delivery = time.monotonic()
        self._reader_failure: err.RpcFailure | None = None
        self._abort_after: AbortPlan | None = None
        self.rpc_id = err.new_rpc_id()

    def run(self, requests: Iterator[pb.FetchRequest]) -> Iterator[pb.FetchResponse]:
        try:
            first = next(requests, None)
        except grpc.RpcError:
            return  # the client went away before its first request
        if first is None:
            return
        self._start(first)
        threading.Thread(target=self._read, args=(requests,), daemon=True).start()
        while self._context.is_active():
            response = self._next_response()
            if response is None:
                return
            if self._faults.delay_s:
                time.sleep(self._faults.delay_s)
            self._last_response = time.monotonic()
            yield response
            if self._abort_after is not None:
                raise _failure(self._abort_after)

    # -- the first request --------------------------------------------------------------

    def _start(self, first: pb.FetchRequest) -> None:
        info = self._bus.store.topic(first.topic_name)
        if info is None:
            raise err.RpcFailure(
                grpc.StatusCode.NOT_FOUND, err.TOPIC_NOT_FOUND,
                f"The topic {first.topic_name!r} doesn't exist or you don't have access to it.",
            )
        self._topic = info[0]
        self._position = self._start_position(first)
        self._add_requested(first.num_requested)

    def _start_position(self, first: pb.FetchRequest) -> int:
        store = self._bus.store
        if first.replay_preset == pb.LATEST:
            return store.max_seq(self._topic)
        oldest_ms = now_ms() - int(self._settings.retention_s * 1000)
        if first.replay_preset == pb.EARLIEST:
            return store.first_seq_since(self._topic, oldest_ms)
        if not first.replay_id:
            raise err.RpcFailure(
                grpc.StatusCode.INVALID_ARGUMENT, err.REPLAY_VALIDATION_FAILED,
                "The Replay ID validation failed: a CUSTOM replay preset needs a replay ID.",
            )
        seq = store.decode_replay_id(self._topic, first.replay_id)
        if seq is None or not self._within_retention(seq, oldest_ms):
            raise err.RpcFailure(
                grpc.StatusCode.INVALID_ARGUMENT, err.REPLAY_CORRUPTED,
                "The Replay ID validation failed. Ensure that the Replay ID is valid and that "
                "the event is within the retention window.",
            )
        return seq

    def _within_retention(self, seq: int, oldest_ms: int) -> bool:
        created = self._bus.store.created_ms(self._topic, seq if seq else 1)
        return created is None or created >= oldest_ms

    # -- later requests (reader thread) -------------------------------------------------

    def _read(self, requests: Iterator[pb.FetchRequest]) -> None:
        try:
            for req in requests:
                if req.topic_name and req.topic_name.lower() != self._topic.lower():
                    self._fail_from_reader(err.RpcFailure(
                        grpc.StatusCode.INVALID_ARGUMENT, err.TOPIC_MISMATCH,
                        "The topic in a later FetchRequest must match the first one.",
                    ))
                    return
                self._add_requested(req.num_requested)
        except grpc.RpcError:
            return  # the client went away; the response loop notices via is_active()

    def _add_requested(self, num: int) -> None:
        if num < 0:
            self._fail_from_reader(err.RpcFailure(
                grpc.StatusCode.INVALID_ARGUMENT, err.REQUESTED_EVENTS_INVALID,
                f"num_requested must not be negative (got {num}).",
            ))
            return
        with self._cond:
            self._pending = min(MAX_PENDING, self._pending + num)
            self._last_request = time.monotonic()
            self._cond.notify_all()

    def _fail_from_reader(self, failure: err.RpcFailure) -> None:
        with self._cond:
            self._reader_failure = failure
            self._cond.notify_all()

    # -- what to send next --------------------------------------------------------------

    def _next_response(self) -> pb.FetchResponse | None:
        """Block until there is something to send; None ends the stream cleanly."""
        while self._context.is_active():
            self._check_session()
            pending = self._wait_for_work()
            if self._faults.silent.is_set():
                continue
            if self._can_deliver(pending):
                return self._events_response(pending)
            _, due = self._faults.take_abort(0, self._topic, self._opened_at)
            if due is not None:
                raise _failure(due)
            now = time.monotonic()
            if now - self._last_response >= self._settings.keepalive_s:
                return self._keepalive()
            if pending == 0 and now - self._idle_since() >= self._settings.idle_timeout_s:
                return None
        return None

    def _wait_for_work(self) -> int:
        """Wait (briefly) unless events can go out now; returns what is pending."""
        with self._cond:
            if not self._has_work():
                self._cond.wait(timeout=self._wait_s())
            if self._reader_failure is not None:
                raise self._reader_failure
            return self._pending

    def _has_work(self) -> bool:
        if self._faults.silent.is_set():
            return False
        return self._reader_failure is not None or self._can_deliver(self._pending)

    def _can_deliver(self, pending: int) -> bool:
        """Events can go out: some are requested and some are new (or armed for redelivery)."""
        if pending <= 0:
            return False
        if self._bus.store.max_seq(self._topic) > self._position:
            return True
        return self._position > 0 and self._faults.redeliver_armed(self._topic)

    def _wait_s(self) -> float:
        """How long to wait: until the next keepalive or idle deadline, at most one poll."""
        if self._faults.silent.is_set():
            return _POLL_S
        due = self._last_response + self._settings.keepalive_s
        idle_due = self._idle_since() + self._settings.idle_timeout_s
        due = min(due, idle_due if self._pending == 0 else math.inf)
        return max(0.0, min(_POLL_S, due - time.monotonic()))

    def _idle_since(self) -> float:
        return max(self._last_request, self._last_delivery)

    def _check_session(self) -> None:
        if self._faults.abort_streams_on_expiry.is_set() and not self._still_authorized():
            raise err.RpcFailure(
                grpc.StatusCode.UNAUTHENTICATED, err.AUTH_ERROR, "The session has expired."
            )

    def _events_response(self, pending: int) -> pb.FetchResponse:
        rewind = self._faults.take_redeliver(self._topic)
        if rewind:
            self._position = max(0, self._position - rewind)
        batch = _limit_bytes(self._bus.store.read_after(self._topic, self._position, pending))
        allowed, abort = self._faults.take_abort(len(batch), self._topic, self._opened_at)
        if abort is not None and allowed == 0:
            raise _failure(abort)
        batch = batch[:allowed]
        if abort is not None:
            self._abort_after = abort
        with self._cond:
            self._pending -= len(batch)
            remaining = self._pending
        self._position = batch[-1].seq
        self._last_delivery = time.monotonic()
        self._faults.deliveries.record(self._topic, (e.event_id for e in batch))
        return pb.FetchResponse(
            events=[_consumer_event(e) for e in batch],
            latest_replay_id=batch[-1].replay_id,
            rpc_id=self.rpc_id,
            pending_num_requested=remaining,
        )

    def _keepalive(self) -> pb.FetchResponse:
        with self._cond:
            pending = self._pending
        return pb.FetchResponse(
            latest_replay_id=self._bus.store.replay_id(self._topic, self._position),
            rpc_id=self.rpc_id,
            pending_num_requested=pending,
        )


def _failure(plan: AbortPlan) -> err.RpcFailure:
    return err.RpcFailure(plan.code, plan.error_code, plan.message)


def _consumer_event(e: StoredEvent) -> pb.ConsumerEvent:
    return pb.ConsumerEvent(
        event=pb.ProducerEvent(id=e.event_id, schema_id=e.schema_id, payload=e.payload),
        replay_id=e.replay_id,
    )


def _limit_bytes(batch: list[StoredEvent]) -> list[StoredEvent]:
    """Keep a response under the size most clients accept (4 MB by default in gRPC)."""
    total = 0
    for i, e in enumerate(batch):
        total += len(e.payload) + 64
        if total > MAX_RESPONSE_BYTES and i > 0:
            return batch[:i]
    return batch
