"""A stop fits systemd's TimeoutStopSec: the intake and the writers share one
``shutdown_timeout_s``, not one each (8 + 8 s outlasted TimeoutStopSec=15 and met SIGKILL)."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any, cast

import pytest

from scheduler.registry import RealigningScheduler
from service.failover import Role
from service.lifecycle import Notifier
from service.shutdown import stop_writers
from service.wiring import _wind_down

BUDGET_S = 1.0


def test_a_stuck_intake_and_a_stuck_writer_together_stop_within_one_budget(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The stuck intake's join uses up the whole budget, so the writers get what is left of
    it: nothing (each part with its own budget gave them another full one)."""
    import service.wiring

    budgets: list[float] = []

    def recorded(apply: threading.Thread, workers: Any, jobs: Any, budget_s: float
                 ) -> list[str]:
        budgets.append(budget_s)
        return stop_writers(apply, workers, jobs, budget_s)

    monkeypatch.setattr(service.wiring, "stop_writers", recorded)
    release = threading.Event()
    intake = threading.Thread(target=release.wait, name="intake", daemon=True)
    apply_thread = threading.Thread(target=release.wait, name="apply", daemon=True)
    intake.start()
    apply_thread.start()
    config = cast(Any, SimpleNamespace(service=SimpleNamespace(shutdown_timeout_s=BUDGET_S)))
    parts = cast(Any, SimpleNamespace(hooks=SimpleNamespace(summary=lambda: "none"),
                                      applier=SimpleNamespace(workers=[]),
                                      jobs=RealigningScheduler()))
    role = Role(None)
    try:
        code = _wind_down(config, role, (intake, apply_thread), Notifier(""), parts, [])
    finally:
        release.set()
    assert code == 1, "the intake did not stop in time"
    assert role.in_flight == ["apply"], "the writer still running keeps the lease"
    assert budgets == [0.0], f"the writers were given {budgets}: each part had its own budget"
