"""Request credit, backoff and the watchdog, on their own."""

from __future__ import annotations

import threading
import time

from subscriber.flow import Backoff, Credit, RequestQueue, Watchdog


def test_credit_never_exceeds_the_batch_and_tops_up_at_half() -> None:
    credit = Credit(100)
    assert credit.initial() == 100
    assert credit.after_events(30) == 0       # 70 outstanding
    assert credit.after_events(20) == 50      # 50 left: top up to 100
    assert credit.outstanding == 100
    assert credit.after_events(100) == 100
    assert credit.after_keepalive(server_pending=100) == 0
    assert credit.after_keepalive(server_pending=0) == 100  # the server forgot: resync


def test_credit_small_batches() -> None:
    credit = Credit(1)
    assert credit.initial() == 1
    assert credit.after_events(1) == 1


def test_backoff_grows_caps_jitters_and_resets() -> None:
    backoff = Backoff(1.0, 8.0, rand=lambda: 1.0)
    assert [backoff.next_delay() for _ in range(6)] == [1, 2, 4, 8, 8, 8]
    backoff.reset()
    assert backoff.next_delay() == 1
    low = Backoff(1.0, 8.0, rand=lambda: 0.0)
    assert [low.next_delay() for _ in range(3)] == [0.5, 1, 2]


def test_watchdog_fires_once_when_not_touched() -> None:
    fired = threading.Event()
    with Watchdog(0.05, fired.set) as dog:
        assert fired.wait(5)
    assert dog.expired


def test_watchdog_touch_pushes_the_deadline_back() -> None:
    """It fires ``timeout_s`` after the last touch, not after it started (lower bounds only:
    the monotonic clock cannot fire it early, however loaded the machine)."""
    fired_at: list[float] = []
    fired = threading.Event()

    def expire() -> None:
        fired_at.append(time.monotonic())
        fired.set()

    timeout_s = 2.0
    with Watchdog(timeout_s, expire) as dog:
        assert not fired.wait(0.5)  # part of the first period goes by
        touched_at = time.monotonic()
        dog.touch()
        assert fired.wait(30), "the watchdog never fired"
    assert dog.expired
    assert fired_at[0] - touched_at >= timeout_s, "fired before timeout_s after the touch"


def test_watchdog_stays_quiet_when_stopped_before_its_deadline() -> None:
    fired = threading.Event()
    with Watchdog(0.2, fired.set) as dog:
        pass
    assert not fired.wait(0.5)  # well past the deadline: exiting the block stopped it
    assert not dog.expired


def test_request_queue_ends_on_close() -> None:
    q = RequestQueue(1)
    q.put(2)
    q.close()
    assert list(q) == [1, 2]
