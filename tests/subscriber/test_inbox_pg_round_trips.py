"""The PostgreSQL inbox lands a batch in a few round trips, not one per event: landing was its
slowest step, and a slow landing made the apply loop start a cycle per small landing (more
Salesforce calls per event than on SQLite; ``make bench``'s burst)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from helpers.inbox_places import PgPlace

from subscriber.events import DecodedEvent, EntryKind
from subscriber.inbox_pg import open_pg_inbox

T = "/event/T__e"


def _event(i: int) -> DecodedEvent:
    return DecodedEvent(T, i.to_bytes(10, "big"), f"uuid-{i}", "s1", EntryKind.EVENT, {"n": i})


def _round_trips(trace: str) -> int:
    """The server's ReadyForQuery messages in a libpq trace: one ends each round trip (a
    plain statement, or a pipeline's Sync)."""
    return sum(1 for line in trace.splitlines() if "\tB\t" in line and "\tReadyForQuery" in line)


def _round_trips_of(inbox_dsn: str, place: PgPlace, events: list[DecodedEvent]) -> tuple[int, int]:
    """(round trips, entries stored) for one store_batch, on one pooled connection traced by
    libpq itself."""
    with open_pg_inbox(inbox_dsn, fence=place.lease, pool_size=1) as inbox, \
            tempfile.TemporaryFile("w+") as trace:
        with inbox.pool.connection() as conn:
            conn.pgconn.trace(trace.fileno())
        try:
            stats = inbox.store_batch(T, events, events[-1].replay_id)
        finally:
            with inbox.pool.connection() as conn:
                conn.pgconn.untrace()
        trace.seek(0)
        trips = _round_trips(trace.read())
    return trips, stats.stored


def test_a_batch_of_100_lands_in_a_few_round_trips_and_duplicates_still_drop(
        pg_dsn: str) -> None:
    place = PgPlace(pg_dsn)
    try:
        events = [_event(i) for i in range(100)]
        trips, stored = _round_trips_of(pg_dsn, place, events)
        assert stored == 100
        assert trips <= 10, f"{trips} round trips for 100 events"
        again, stored = _round_trips_of(pg_dsn, place, [*events[50:], _event(100)])
        assert stored == 1, "the 50 already landed are dropped at the door"
        assert again <= 10
    finally:
        place.close()


def test_the_trace_counts_round_trips(pg_dsn: str, tmp_path: Path) -> None:
    """The probe itself: one Sync per plain statement outside a pipeline."""
    import psycopg

    with psycopg.connect(pg_dsn, autocommit=True) as conn, open(tmp_path / "t", "w+") as trace:
        conn.pgconn.trace(trace.fileno())
        for _ in range(5):
            conn.execute("SELECT 1")
        conn.pgconn.untrace()
        trace.seek(0)
        assert _round_trips(trace.read()) == 5
