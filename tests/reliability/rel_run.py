"""A case's run from start to verdict, and the fault-free reference runs it is compared with.

A case::

    def test_r8(reference, tmp_path):
        with case_run(tmp_path, SEED, EVENTS) as run:       # emulator up, org seeded
            run.cluster.start_daemon(); run.cluster.wait_ready()
            run.cluster.publish(run.workload, after_batch=inject)
            verdict = run.finish(reference(SEED, EVENTS), "R8")
        verdict.assert_clean()

``reference(seed, events)`` (a session fixture) runs the same workload with no fault once per
session and caches the result.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rel_checker import RunResult, Verdict, collect, compare
from rel_harness import Cluster, running_cluster
from rel_workload import (
    PUBLISH_BATCH,
    Workload,
    expected_workspaces,
    make_workload,
    workspace_mismatches,
)

IDLE_TIMEOUT_S = 180.0


@dataclass
class CaseRun:
    cluster: Cluster
    workload: Workload
    seed: int
    events: int

    def finish(self, reference: RunResult, case: str, idle_timeout_s: float = IDLE_TIMEOUT_S,
               expected_to_differ: frozenset[str] = frozenset(),
               dead_lettered: frozenset[str] = frozenset()) -> Verdict:
        """Wait until idle (the stuck check happens either way), then compare."""
        try:
            self.cluster.wait_idle(self.workload, idle_timeout_s)
        except TimeoutError as exc:
            print(f"{case} seed={self.seed}: {exc}")
        result = collect(self.cluster, self.workload)
        return compare(reference, result, case, self.seed, self.events, expected_to_differ,
                       dead_lettered)


@contextmanager
def case_run(work: Path, seed: int, events: int, batch: int = PUBLISH_BATCH, **cluster: Any
             ) -> Iterator[CaseRun]:
    """An emulator with the workload's Accounts and Leads in place; no daemon yet."""
    with running_cluster(work, **cluster) as c:
        workload = make_workload(seed, events, c.info["user_id"], batch)
        c.prepare(workload)
        yield CaseRun(c, workload, seed, events)


def reference_run(work: Path, seed: int, events: int) -> RunResult:
    """The fault-free run of a seed: the golden state every faulty run must end in."""
    with case_run(work, seed, events) as run:
        run.cluster.start_daemon()
        run.cluster.wait_ready()
        run.cluster.publish(run.workload)
        run.cluster.wait_idle(run.workload, IDLE_TIMEOUT_S)
        result = collect(run.cluster, run.workload)
        assert run.cluster.sigterm() == 0
    assert result.pending == 0, "the reference run left entries pending"
    assert result.redelivered == 0, "the reference run had redeliveries"
    mismatches = workspace_mismatches(expected_workspaces(run.workload), workspaces(result))
    assert not mismatches, (f"seed {seed}: the reference run differs from the workload's "
                            f"last-writer-wins model: {mismatches[:5]} "
                            f"({len(mismatches)} in all)")
    return result


def workspaces(result: RunResult) -> dict[str, dict[str, Any]]:
    """The run's Workspace records by ``Workspace_ID__c`` (the first, if duplicated)."""
    return {key[0]: records[0] for (sobject, key), records in result.state.items()
            if sobject == "Workspace__c" and records}
