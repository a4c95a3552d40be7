"""Fault steps the cases share, each driven through the emulator's admin API.

Kill points of R1 (``kill -9``):

* ``random``: once the inbox has applied a seeded number of events;
* ``after_sf_write``: a Salesforce write is held in the emulator (a ``stall`` org fault on
  the next sObject Collections write), the daemon is killed while it waits, then the fault is
  cleared so the held write lands: Salesforce has the write, the inbox does not know;
* ``scheduler_job``: the next plain SOQL ``query`` (the scheduler's jobs query; the apply loop
  reads through Composite) is held and the daemon killed inside the job;
* ``mid_commit``: the test holds the inbox's write lock (``BEGIN IMMEDIATE``, as R5 does)
  from the batch before; once the emulator has sent an event *after* the lock was taken
  (so not one the previous, killed daemon left unstored) and the inbox still holds the rows
  it held then (the intake is waiting inside its write transaction), the daemon is killed
  and the lock let go.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import sqlite3
from typing import Any

from rel_harness import TOPICS, Cluster, wait_for

from service.config import inbox_path

WRITE_KINDS = ("collections_create", "collections_update", "collections_upsert")
KILL_POINTS = ("random", "after_sf_write", "scheduler_job", "mid_commit")
LOCK_WAIT_S = 5.0  # for the intake to block on the held lock; < its 10 s busy timeout
HELD_SETTLE_S = 5.0  # for calls passing the emulator's door to be marked run


def applied(cluster: Cluster) -> int:
    return sum(1 for *_, status, _ in cluster.inbox_rows() if status != "pending")


def hold_next(cluster: Cluster, kinds: tuple[str, ...]) -> None:
    """Arm a one-shot stall on each call kind in ``kinds``."""
    for kind in kinds:
        cluster.admin("/faults/org", {"fault": "stall", "kind": kind, "times": 1,
                                      "stall_s": 120})


def held(cluster: Cluster) -> list[dict[str, Any]]:
    """The stall rules that have fired (a request is being held)."""
    return [r for r in cluster.admin("/faults/org")["rules"]
            if r["effect"] == "stall" and r["fired"]]


class InboxLock:
    """The inbox's write lock held from outside (``mid_commit``): ``take()``, ``release()``."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.db: sqlite3.Connection | None = None
        self.sent_at_take: dict[str, int] = {}  # per topic, distinct events sent by then
        self.rows_at_take = 0

    def take(self) -> None:
        """Hold the lock, and note what the server had sent and the inbox held by then: an
        event sent after this can only be in the intake's hands, waiting to commit."""
        self.db = sqlite3.connect(inbox_path(self.cluster.state), isolation_level=None,
                                  timeout=30)
        self.db.execute("BEGIN IMMEDIATE")
        self.rows_at_take = len(self.cluster.inbox_rows())
        self.sent_at_take = sent_by_topic(self.cluster)

    def sent_since_take(self) -> dict[str, int]:
        """Per topic, events first sent after :meth:`take` (while no commit could land)."""
        now = sent_by_topic(self.cluster)
        new = {t: now[t] - self.sent_at_take.get(t, 0) for t in TOPICS}
        return {t: n for t, n in new.items() if n > 0}

    def release(self) -> None:
        if self.db is not None:
            with contextlib.closing(self.db):
                self.db.execute("ROLLBACK")
            self.db = None


def sent_by_topic(cluster: Cluster) -> dict[str, int]:
    """Per topic, the distinct events the emulator has sent (redeliveries not counted)."""
    sent = cluster.admin("/pubsub/deliveries")["topics"]
    return {t: int(sent.get(t, {}).get("distinct", 0)) for t in TOPICS}


def unstored(cluster: Cluster) -> dict[str, int]:
    """Per topic, events the emulator has sent that the inbox does not hold."""
    sent = sent_by_topic(cluster)
    rows = cluster.inbox_rows()
    return {t: sent[t] - sum(1 for r in rows if r[0] == t) for t in TOPICS}


def redelivered_by_topic(cluster: Cluster) -> dict[str, int]:
    sent = cluster.admin("/pubsub/deliveries")["topics"]
    return {t: int(sent.get(t, {}).get("redelivered", 0)) for t in TOPICS}


def kill_at(cluster: Cluster, point: str, rng: random.Random, published: int,
            lock: InboxLock | None = None) -> str:
    """Kill the newest daemon at ``point``; returns what was hit, for the test's report.
    ``mid_commit`` needs ``lock`` taken before the batch that precedes the kill."""
    if point == "mid_commit":
        assert lock is not None, "mid_commit needs an InboxLock"
        assert lock.db is not None, "mid_commit: take the lock before the batch"
        waiting = wait_for(lock.sent_since_take, LOCK_WAIT_S,
                           "an event sent after the lock was taken (intake in its commit)")
        rows = len(cluster.inbox_rows())
        assert rows == lock.rows_at_take, f"the inbox stored {rows - lock.rows_at_take} " \
            "rows under the held lock: the kill would not be mid-commit"
        cluster.kill9()
        lock.release()
        return f"mid_commit with {waiting} sent after the lock was taken, none stored"
    if point == "random":
        target = rng.randint(min(applied(cluster), published), published)
        wait_for(lambda: applied(cluster) >= target or cluster.daemon.proc.poll() is not None,  # type: ignore[union-attr]
                 120, f"{target} events applied")
        cluster.kill9()
        return f"random after {target} applied"
    start = max((r["seq"] for r in requests(cluster)), default=0)
    hold_next(cluster, WRITE_KINDS if point == "after_sf_write" else ("query",))
    kind = wait_for(lambda: held(cluster), 120, f"a held request ({point})")[0]["kind"]
    call = held_call(cluster, start, kind, point)
    assert call["caller"] != caller_digest(str(cluster.sf.session_id)), "the test's own call"
    cluster.kill9()
    cluster.admin("/faults/org/clear", {})  # the held request now runs, for a dead client
    wait_for(lambda: next(r for r in requests(cluster) if r["seq"] == call["seq"])["ran_at"],
             60, f"the held {kind} call to run after the kill")
    return f"{point} while {kind} (call {call['seq']}) was held; it ran after the kill"


def held_call(cluster: Cluster, start: int, kind: str, point: str) -> dict[str, Any]:
    """The one ``kind`` call after ``start`` that has not run: the held one.

    ``start`` is read before the stall is armed, so calls of ``kind`` that ran in between
    (a Collections upsert arrives about once per apply cycle) are skipped by ``ran_at``. A
    call that is passing the door right now has ``ran_at`` unset for microseconds, so this
    waits (briefly) for exactly one to remain; two that stay unrun mean a second call is
    stuck, which the test must not mistake for the one it killed the daemon on.
    """
    def unrun() -> list[dict[str, Any]]:
        return [r for r in requests(cluster)
                if r["seq"] > start and r["kind"] == kind and r["ran_at"] is None]

    def only_one() -> list[dict[str, Any]]:
        calls = unrun()
        return calls if len(calls) == 1 else []
    try:
        return wait_for(only_one, HELD_SETTLE_S, f"exactly one unrun {kind} call")[0]
    except TimeoutError:
        raise AssertionError(f"{point}: expected exactly one held {kind} call after seq "
                             f"{start}, found {unrun()}") from None


def caller_digest(token: str) -> str:
    """How the emulator's request log names a session (emulator/org/request_log.py)."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


def requests(cluster: Cluster) -> list[dict[str, Any]]:
    """Every API call the org admitted, in arrival order (none trimmed: a case's run stays
    far below the log's 20,000 entries)."""
    log = cluster.admin("/org/requests")
    assert log["dropped"] == 0, "the emulator's request log dropped calls"
    return list(log["requests"])


def restart(cluster: Cluster, **env: str) -> None:
    cluster.start_daemon(**env)
    cluster.wait_ready()
