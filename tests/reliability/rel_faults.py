"""Fault steps the cases share, each driven through the emulator's admin API.

Kill points of R1 (``kill -9``):

* ``random``: once the inbox has applied a seeded number of events;
* ``after_sf_write``: a Salesforce write is held in the emulator (a ``stall`` org fault on
  the next sObject Collections write), the daemon is killed while it waits, then the fault is
  cleared so the held write lands: Salesforce has the write, the inbox does not know;
* ``scheduler_job``: the next plain SOQL ``query`` (the scheduler's jobs query; the apply loop
  reads through Composite) is held and the daemon killed inside the job.
"""

from __future__ import annotations

import random
from typing import Any

from rel_harness import Cluster, wait_for

WRITE_KINDS = ("collections_create", "collections_update", "collections_upsert")
KILL_POINTS = ("random", "after_sf_write", "scheduler_job")


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


def kill_at(cluster: Cluster, point: str, rng: random.Random, published: int) -> str:
    """Kill the newest daemon at ``point``; returns what was hit, for the test's report."""
    if point == "random":
        target = rng.randint(min(applied(cluster), published), published)
        wait_for(lambda: applied(cluster) >= target or cluster.daemon.proc.poll() is not None,  # type: ignore[union-attr]
                 120, f"{target} events applied")
        cluster.kill9()
        return f"random after {target} applied"
    hold_next(cluster, WRITE_KINDS if point == "after_sf_write" else ("query",))
    fired = wait_for(lambda: held(cluster), 120, f"a held request ({point})")
    cluster.kill9()
    cluster.admin("/faults/org/clear", {})  # the held request now runs, for a dead client
    return f"{point} while {fired[0]['kind']} was held"


def restart(cluster: Cluster, **env: str) -> None:
    cluster.start_daemon(**env)
    cluster.wait_ready()
