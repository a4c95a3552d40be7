"""The intake as the service runs it, against the emulator over TLS: the first poison entry of
each error class reaches the ``poisoned`` hook (Sentry) once, whichever topic's stream landed
it, and a stream that cannot go on stops the intake with its own error."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field

from subscriber_harness import LEAD, TRIAL, HarnessFactory, RecordingHooks

from emulator.pubsub.store import NewEvent
from subscriber.errors import Fatal
from subscriber.events import EntryStatus, UndecodableEvent


@dataclass
class PoisonHooks(RecordingHooks):
    poisoned_events: list[tuple[str, UndecodableEvent]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def poisoned(self, topic: str, event: UndecodableEvent) -> None:
        with self.lock:
            self.poisoned_events.append((topic, event))


def test_the_first_poison_of_a_class_reaches_the_poisoned_hook_once(
        harness_factory: HarnessFactory) -> None:
    h = harness_factory(topics=(TRIAL,), batch_size=2)
    h.hooks = hooks = PoisonHooks()
    store = h.emu.context.bus.store
    sid = store.topic(TRIAL)[1]  # type: ignore[index]
    ids = [str(uuid.uuid4()) for _ in range(3)]
    store.append(TRIAL, [NewEvent(i, sid, b"\xff\xff\xff") for i in ids])  # two batches
    h.start()
    h.wait_count(TRIAL, 3, EntryStatus.POISON)
    h.stop()
    assert [(topic, event.event_id) for topic, event in hooks.poisoned_events] == [
        (TRIAL, ids[0])]
    assert hooks.poisoned_events[0][1].error_class == "undecodable payload"


def test_a_stream_that_cannot_go_on_stops_the_intake_with_its_own_error(
        harness_factory: HarnessFactory) -> None:
    h = harness_factory(topics=(TRIAL, LEAD, "/event/Nope__e")).start()
    failure = h.wait_failure()
    assert type(failure) is Fatal
    assert str(failure).startswith("GetTopic /event/Nope__e failed: NOT_FOUND")


def test_the_intakes_unary_calls_give_up_after_rpc_timeout_s_and_retry(
        harness_factory: HarnessFactory) -> None:
    h = harness_factory(topics=(TRIAL,), rpc_timeout_s=0.3)
    faults = h.emu.context.pubsub_faults
    faults.delay_s = 2.0  # every call: GetTopic outlives the timeout
    try:
        h.start()
        h.wait_for(lambda: any("DEADLINE_EXCEEDED" in r for _, r in h.hooks.reconnects),
                   "a timed-out GetTopic")
    finally:
        faults.delay_s = 0.0
    h.publish_trials(1)
    h.wait_count(TRIAL, 1)
    h.stop()
    assert h.hooks.reconnects[0][1].startswith(f"GetTopic {TRIAL} failed: DEADLINE_EXCEEDED")
