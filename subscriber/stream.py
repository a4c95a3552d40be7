"""One topic's subscription: preflight, Subscribe, land batches in the inbox, recover.

A :class:`TopicStream` runs in its own thread until :meth:`TopicStream.close`. Each attempt
resumes from the inbox checkpoint (CUSTOM), or from ``start_from`` on a topic's first run.
Every event response is decoded and committed to the inbox together with its last replay ID
*before* more events are requested; a keepalive moves the checkpoint to its
``latest_replay_id`` only when the stream is caught up (the server still holds unused credit),
so the checkpoint never passes an event that is not in the inbox. The one exception is the
first response of a LATEST subscription, before any event: nothing before a LATEST start can
be owed, and until that checkpoint exists every reconnect would jump to LATEST again. A LATEST
start is logged at WARNING every time and recorded in the inbox (see :mod:`subscriber.replay`).
The stream is cancelled and resubscribed when nothing at all arrives for ``keepalive_s +
watchdog_margin_s``.

How an attempt ends decides what happens next: transient errors and a clean stream end retry
forever with capped, jittered backoff (reset by any progress); a rejected session is refreshed
first; a rejected replay ID follows ``on_invalid_replay``; :class:`Fatal` and
:class:`InboxFailed` (the inbox cannot be written: refetching would only burn the delivery
allocation) escape :meth:`run`. A write the disk refused (:class:`InboxFull`) pauses the topic
instead: the stream is ended, the write in hand retried with backoff until it fits, then the
topic resubscribes from the new checkpoint (:mod:`subscriber.inbox_full`).
"""

from __future__ import annotations

import logging
import threading

import grpc

from proto import pubsub_api_pb2 as pb
from subscriber.auth import SessionProvider
from subscriber.channel import PubSubClient, StreamCall
from subscriber.codec import Decoder, SchemaCache
from subscriber.errors import (
    Fatal,
    InboxFull,
    Reauthenticate,
    ReplayRejected,
    RetryLater,
    classify_rpc_error,
)
from subscriber.flow import Backoff, Credit, RequestQueue, Watchdog
from subscriber.gaps import record_gap
from subscriber.hooks import IntakeHooks, call_hook
from subscriber.inbox_api import IntakeInbox
from subscriber.inbox_full import InboxPause, InboxWritableAgain
from subscriber.poison import PoisonReporter
from subscriber.replay import Start, choose_start, jump_messages, rejection_message
from subscriber.settings import IntakeSettings, ReplayPolicy

log = logging.getLogger(__name__)
# After close(): events already asked for may still land this long (inside the 5 s grace).
DRAIN_S = 1.0


class TopicStream:
    """Keeps one topic subscribed and its events landing in the inbox."""

    def __init__(
        self,
        topic: str,
        settings: IntakeSettings,
        client: PubSubClient,
        sessions: SessionProvider,
        schemas: SchemaCache,
        inbox: IntakeInbox,
        hooks: IntakeHooks,
        poison: PoisonReporter | None = None,
    ) -> None:
        self.topic = topic
        self._settings = settings
        self._client = client
        self._sessions = sessions
        self._schemas = schemas
        self._decoder = Decoder(schemas)
        self._inbox = inbox
        self._hooks = hooks
        self._poison = poison or PoisonReporter()
        self._halt = threading.Event()
        self._lock = threading.Lock()
        self._call: StreamCall | None = None
        self._backoff = Backoff(settings.backoff_initial_s, settings.backoff_max_s)
        self._credit = Credit(settings.batch_size)
        self._start = Start(pb.CUSTOM)
        self._events_seen = False
        self._checked = False
        self._subscribed_before = False
        self._token = ""
        # Ends this stream while the disk refuses the inbox's write (subscriber.inbox_full).
        self._full = InboxPause(topic, hooks, self._halt, self._backoff, self._end_call)

    def close(self) -> None:
        """Stop asking for events and end the stream; the batch in hand is still committed,
        and so are events already requested and on their way (for up to :data:`DRAIN_S`, or
        until all requested have come), so a clean stop makes the server send nothing twice.
        A wait for a login in flight ends at once (the login goes on without us)."""
        self._credit.stopped = True
        self._halt.set()
        with self._lock:
            call = self._call
        if call is None:
            return
        if self._credit.outstanding == 0:
            call.cancel()
            return
        timer = threading.Timer(DRAIN_S, call.cancel)
        timer.daemon = True
        timer.start()

    def run(self) -> None:
        """Subscribe until :meth:`close`; raises :class:`Fatal` when retrying cannot help."""
        while not self._halt.is_set():
            reason = self._attempt()
            if self._halt.is_set():
                return
            if reason is None:  # paused for a full inbox, now writable: nothing failed
                continue
            delay_s = self._backoff.next_delay()
            # DEBUG only: the reconnecting hook reports it (the daemon logs once per change
            # of connection state, not once per attempt).
            log.debug("%s: %s; resubscribing in %.1fs", self.topic, reason, delay_s)
            self._report_reconnect(reason, delay_s)
            self._halt.wait(delay_s)

    def _report_reconnect(self, reason: str, delay_s: float) -> None:
        call_hook("reconnecting", lambda: self._hooks.reconnecting(self.topic, reason, delay_s))

    # -- one attempt --------------------------------------------------------------------

    def _attempt(self) -> str | None:
        """Subscribe once; returns why the attempt ended, None to resubscribe at once
        (Fatal propagates)."""
        try:
            self._preflight()
            self._subscribe()
        except InboxWritableAgain:
            return None
        except InboxFull as exc:  # stopping while paused, or the start-up jump record refused
            return self._refused(exc)
        except Reauthenticate as exc:
            return self._reauthenticate(exc)
        except ReplayRejected as exc:
            try:
                return self._replay_rejected(exc)
            except InboxFull as full:  # its gap or jump record refused: pause, never exit
                return self._refused(full)
        except RetryLater as exc:
            return str(exc)
        return "the server ended the stream"

    def _refused(self, exc: InboxFull) -> str:
        if not self._halt.is_set():
            self._full.refused(exc)
        return str(exc)

    def _preflight(self) -> None:
        """Once per stream: the topic must allow subscribing; fetch its current schema."""
        if self._checked:
            return
        info = self._client.get_topic(self.topic)
        if not info.can_subscribe:
            raise Fatal(
                f"GetTopic says the integration user cannot subscribe to {self.topic} "
                "(can_subscribe is false): grant the permission set that allows it"
            )
        self._schemas.get(info.schema_id)
        self._checked = True
        call_hook("topic_ready", lambda: self._hooks.topic_ready(self.topic))

    def _subscribe(self) -> None:
        requests = RequestQueue(self._first_request(), on_first_sent=lambda: call_hook(
            "subscribed", lambda: self._hooks.subscribed(self.topic)))
        session = self._sessions.current(self._halt)
        self._token = session.access_token
        call = self._client.subscribe(iter(requests), session)
        watchdog = Watchdog(self._settings.watchdog_s, call.cancel)
        with self._lock:
            self._call = call
        if self._halt.is_set():
            call.cancel()
        try:
            with watchdog:
                self._consume(call, requests, watchdog)
        except grpc.RpcError as exc:
            if self._halt.is_set():
                return
            if watchdog.expired:
                raise RetryLater(
                    f"no response of any kind for {watchdog.timeout_s:.0f}s (watchdog)"
                ) from None
            raise classify_rpc_error(exc, f"Subscribe {self.topic}") from None
        finally:
            requests.close()
            with self._lock:
                self._call = None

    def _first_request(self) -> pb.FetchRequest:
        checkpoint = self._inbox.checkpoint(self.topic)
        start = choose_start(checkpoint.replay_id, self._inbox.pending_jump(self.topic),
                             self._settings)
        self._start = start
        self._events_seen = False
        if start.jump_to is not None:
            record = self._inbox.record_jump(self.topic, start.jump_to, start.rejected,
                                             starting=True)
            for level, message in jump_messages(self.topic, record, self._settings.keepalive_s):
                log.log(level, "%s", message)
        else:
            # INFO once per stream; a resubscribe is DEBUG (the reconnect is already reported).
            log.log(logging.DEBUG if self._subscribed_before else logging.INFO,
                    "%s: subscribing from %s %s", self.topic,
                    pb.ReplayPreset.Name(start.preset), start.replay_id.hex())
        self._subscribed_before = True
        return start.request(self.topic, self._credit.initial())

    def _consume(
        self,
        call: StreamCall,
        requests: RequestQueue[pb.FetchRequest],
        watchdog: Watchdog,
    ) -> None:
        for response in call:
            watchdog.touch()
            more = self._land(response)
            self._full.resume_if_paused()
            if self._halt.is_set():
                # Stopping: nothing requested is still on its way (all came, or the server
                # says it has nothing to send), so ending the stream now loses nothing.
                if self._credit.outstanding == 0 or not response.events:
                    call.cancel()
                    return
            elif more:
                requests.put(pb.FetchRequest(num_requested=more))

    def _land(self, response: pb.FetchResponse) -> int:
        """Commit what a response carries; returns how many more events to ask for."""
        if not response.events:
            # Only a caught-up stream may move its checkpoint on a keepalive: the server holds
            # unused credit (pending > 0), so no event before latest_replay_id is still owed.
            # With no credit left, events may wait server-side that this ID would skip. Before
            # the first event of a LATEST subscription nothing can be owed at all.
            first_of_latest = self._start.preset == pb.LATEST and not self._events_seen
            caught_up = response.pending_num_requested > 0 or first_of_latest
            if caught_up:
                self._full.write(lambda: self._inbox.advance_checkpoint(
                    self.topic, response.latest_replay_id))
            self._backoff.reset()
            call_hook("keepalive", lambda: self._hooks.keepalive(
                self.topic, response.latest_replay_id))
            return self._credit.after_keepalive(response.pending_num_requested)
        self._events_seen = True
        received = [
            self._decoder.decode(
                self.topic, e.replay_id, e.event.id, e.event.schema_id, e.event.payload
            )
            for e in response.events
        ]
        # The last event stored, not latest_replay_id: whatever the server means by the latter,
        # the checkpoint must never pass an event that is not in the inbox.
        stats = self._full.write(lambda: self._inbox.store_batch(
            self.topic, received, response.events[-1].replay_id))
        self._backoff.reset()
        self._poison.report(self.topic, stats.poisoned)
        call_hook("batch_stored", lambda: self._hooks.batch_stored(self.topic, stats))
        return self._credit.after_events(len(response.events))

    def _end_call(self) -> None:
        """Cancel the call in flight: a full-inbox pause ends the stream (nothing more asked)."""
        with self._lock:
            call = self._call
        if call is not None:
            call.cancel()

    # -- recoveries ---------------------------------------------------------------------

    def _reauthenticate(self, exc: Reauthenticate) -> str:
        try:
            self._sessions.refresh(self._token, self._halt)
        except RetryLater as login_failed:
            return f"{exc}; then {login_failed}"
        return f"{exc}; session refreshed"

    def _replay_rejected(self, exc: ReplayRejected) -> str:
        stored = self._inbox.checkpoint(self.topic)
        policy = self._settings.on_invalid_replay
        replay_id = stored.replay_id or b""
        call_hook("replay_rejected", lambda: self._hooks.replay_rejected(
            self.topic, replay_id, policy))
        message = rejection_message(self.topic, stored, policy, exc)
        record_gap(self._inbox, self.topic, stored, policy.value, exc.error_code, exc.rpc_id)
        if policy is ReplayPolicy.FAIL or self._start.preset != pb.CUSTOM or not stored.replay_id:
            # Logged once, by whoever stops the daemon with it.
            raise Fatal(message, error_code=exc.error_code, rpc_id=exc.rpc_id)
        # CRITICAL, with its own template: a possible gap is one fatal-level Sentry issue of
        # its own, not grouped with the stream's other messages.
        log.critical("replay ID refused, gap recorded: %s", message)
        self._inbox.record_jump(self.topic, policy.value, stored.replay_id, starting=False)
        return f"replay ID rejected; resubscribing from {policy.value.upper()}"
