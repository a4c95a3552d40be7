"""A stopping stream asks for nothing more but still counts what arrives, so it knows when
everything it asked for has come (then a clean stop can end the stream: nothing in flight
is sent again after the restart; tests/reliability R2 checks that end to end)."""

from __future__ import annotations

from subscriber.flow import Credit


def test_a_stopped_credit_asks_for_nothing_and_counts_down_to_zero() -> None:
    credit = Credit(100)
    credit.initial()
    assert credit.after_events(60) == 60  # running: tops up at half

    credit.stopped = True
    assert credit.after_events(70) == 0
    assert credit.outstanding == 30
    assert credit.after_keepalive(30) == 0
    assert credit.after_events(30) == 0
    assert credit.outstanding == 0
