"""One PublishStream call: batches in, one PublishResponse per batch out, idle streams swept.

- The first request names the topic; a later request may omit ``topic_name`` but, when it
  names one, it must be the same topic (``INVALID_ARGUMENT``, ``publish.topic.mismatch``).
- A stream that sends no request carrying at least one event for
  ``StreamSettings.publish_stream_idle_s`` is closed with ``CANCELLED`` and
  ``publish.stream.sweeper.timeout`` (Salesforce reports its sweeper this way).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator

import grpc

from emulator.pubsub import errors as err
from emulator.pubsub.faults import PubSubFaults
from proto import pubsub_api_pb2 as pb

_POLL_S = 0.2
_END = object()

Publisher = Callable[[pb.PublishRequest], pb.PublishResponse]


class PublishStream:
    """Serves one PublishStream call; :meth:`run` is the response generator."""

    def __init__(
        self,
        publish: Publisher,
        faults: PubSubFaults,
        idle_s: float,
        context: grpc.ServicerContext,
    ) -> None:
        self._publish = publish
        self._faults = faults
        self._idle_s = idle_s
        self._context = context
        self._inbox: queue.Queue[object] = queue.Queue()
        self._topic = ""

    def run(self, requests: Iterator[pb.PublishRequest]) -> Iterator[pb.PublishResponse]:
        threading.Thread(target=self._read, args=(requests,), daemon=True).start()
        deadline = time.monotonic() + self._idle_s
        while self._context.is_active():
            left = deadline - time.monotonic()
            if left <= 0:
                raise self._swept()
            try:
                item = self._inbox.get(timeout=min(_POLL_S, left))
            except queue.Empty:
                continue
            if not isinstance(item, pb.PublishRequest):
                return  # the client half-closed or went away
            if item.events:
                deadline = time.monotonic() + self._idle_s
            if self._faults.delay_s:
                time.sleep(self._faults.delay_s)
            yield self._publish(self._with_topic(item))

    def _read(self, requests: Iterator[pb.PublishRequest]) -> None:
        try:
            for request in requests:
                self._inbox.put(request)
        except grpc.RpcError:
            pass  # cancelled: the response loop notices via is_active()
        finally:
            self._inbox.put(_END)

    def _with_topic(self, request: pb.PublishRequest) -> pb.PublishRequest:
        """The request with the stream's topic filled in; checks later requests match it."""
        if not self._topic:
            self._topic = request.topic_name
        elif request.topic_name and request.topic_name.lower() != self._topic.lower():
            raise err.RpcFailure(
                grpc.StatusCode.INVALID_ARGUMENT, err.PUBLISH_TOPIC_MISMATCH,
                "The topic in a later PublishRequest must match the first one.",
            )
        return pb.PublishRequest(topic_name=self._topic, events=request.events)

    def _swept(self) -> err.RpcFailure:
        return err.RpcFailure(
            grpc.StatusCode.CANCELLED, err.PUBLISH_STREAM_TIMEOUT,
            f"No publish request was received during the timeout period of {self._idle_s:g} "
            "seconds. The publish stream timed out.",
        )
