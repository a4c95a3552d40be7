"""Request credit, backoff and the watchdog, on their own."""

from __future__ import annotations

import threading

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


def test_watchdog_stays_quiet_when_stopped() -> None:
    fired = threading.Event()
    with Watchdog(60.0, fired.set) as dog:
        dog.touch()
    assert not dog.expired
    assert not fired.is_set()


def test_request_queue_ends_on_close() -> None:
    q = RequestQueue(1)
    q.put(2)
    q.close()
    assert list(q) == [1, 2]
