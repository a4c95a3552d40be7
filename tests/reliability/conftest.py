"""Fixtures of the reliability suite: the cached fault-free reference runs.

The suite's API is documented in ``rel_harness`` (rig), ``rel_workload`` (seeded events),
``rel_checker`` (verdicts), ``rel_run`` (a case's run) and ``rel_params`` (short/long form).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rel_checker import RunResult
from rel_run import reference_run

Reference = Callable[[int, int], RunResult]


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """``reference(seed, events)``: the fault-free run's result, run once per session."""
    cache: dict[tuple[int, int], RunResult] = {}

    def get(seed: int, events: int) -> RunResult:
        if (seed, events) not in cache:
            work = tmp_path_factory.mktemp(f"reference-{seed}-{events}")
            cache[(seed, events)] = reference_run(work, seed, events)
        return cache[(seed, events)]

    return get
