"""Reconnect pacing and the stream watchdog, observed on a real intake against the emulator.

README: transient errors "retry forever with capped, jittered backoff that resets on
progress", and a stream is cancelled only when *nothing* arrives for ``keepalive_s +
watchdog_margin_s``. Each delay is in [base/2, base] with base = initial * 2**failures.
"""

from __future__ import annotations

import grpc
from subscriber_harness import TRIAL, Harness, HarnessFactory

from emulator.pubsub.faults import AbortPlan
from emulator.pubsub.subscribe import StreamSettings

INITIAL_S = 0.02


def _abort_next_attempt(h: Harness) -> None:
    """Fail the current (or next) stream at once with UNAVAILABLE and wait for the reconnect."""
    before = len(h.hooks.delays)
    h.emu.context.pubsub_faults.arm_abort(
        AbortPlan(0, grpc.StatusCode.UNAVAILABLE, "RST_STREAM closed stream", TRIAL))
    h.wait_for(lambda: len(h.hooks.delays) > before, "the reconnect after an abort")


def test_backoff_grows_while_attempts_fail_and_resets_once_events_land(
    harness_factory: HarnessFactory,
) -> None:
    # No keepalive for 30 s: an aborted attempt made no progress at all.
    h = harness_factory(stream=StreamSettings(keepalive_s=30.0), topics=(TRIAL,),
                        keepalive_s=30.0, backoff_initial_s=INITIAL_S, backoff_max_s=30.0)
    h.start()
    for _ in range(4):
        _abort_next_attempt(h)
    grown = [d for _, d, _ in h.hooks.delays]
    assert grown[3] >= INITIAL_S * 2**3 / 2, grown  # 4th failure in a row: base 0.16 s
    h.publish_trials(3)
    h.wait_count(TRIAL, 3)
    _abort_next_attempt(h)  # this attempt stored events: its delay starts over
    h.stop()
    _, after, batches_before = h.hooks.delays[-1]
    assert batches_before == 1
    assert after <= INITIAL_S, f"backoff not reset by stored events: waited {after:.3f} s"


def test_keepalives_count_as_progress_for_the_backoff(harness_factory: HarnessFactory) -> None:
    # Keepalives every 0.1 s: each attempt sees one before it is aborted, so every reconnect
    # waits the initial delay again instead of doubling.
    h = harness_factory(stream=StreamSettings(keepalive_s=0.1), topics=(TRIAL,),
                        keepalive_s=5.0, backoff_initial_s=INITIAL_S, backoff_max_s=30.0)
    h.start()
    for _ in range(5):
        seen = len(h.hooks.keepalives)
        h.wait_for(lambda seen=seen: len(h.hooks.keepalives) > seen, "a keepalive")
        _abort_next_attempt(h)
    h.stop()
    delays = [d for _, d, _ in h.hooks.delays]
    assert max(delays) <= INITIAL_S, delays


def test_a_stream_that_sends_keepalives_is_never_cancelled_by_the_watchdog(
    harness_factory: HarnessFactory,
) -> None:
    # Watchdog 0.8 s (0.3 + 0.5); keepalives every 0.2 s. Twenty keepalives span 4 s, five
    # watchdog periods: each response must push the watchdog's deadline back.
    h = harness_factory(stream=StreamSettings(keepalive_s=0.2, idle_timeout_s=60.0),
                        topics=(TRIAL,), keepalive_s=0.3, watchdog_margin_s=0.5).start()
    h.wait_for(lambda: len(h.hooks.keepalives) >= 20, "twenty keepalives")
    h.stop()
    assert h.hooks.reconnects == [], "the watchdog cancelled a live stream"
