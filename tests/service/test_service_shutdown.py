"""SIGTERM while the daemon's login is still blocked in HTTP: exit 0 within 10 s, at once.

The daemon is a real subprocess (``python -m service run --emulator-info``); the emulator runs
in-process with every REST/OAuth request taking 25 s, its latency wrapped so the test knows
when the token request has arrived (and can cut the wait short at teardown). No sleeps: the
test waits on that event and on the process, each with a deadline.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.children import module_argv

from benchmarks.rig import Daemon
from emulator.server import Emulator

LATENCY_MS = 25_000.0  # longer than the whole stop budget
STOP_BUDGET_S = 10.0  # the requirement, measured from the signal


class HeldLogins:
    """Stands in for the emulator org's ``pause`` (its latency): observable, releasable."""

    def __init__(self, latency_s: float) -> None:
        self.latency_s = latency_s
        self.arrived = threading.Event()
        self.finished = threading.Event()
        self.released = threading.Event()

    def pause(self) -> None:
        self.arrived.set()
        self.released.wait(self.latency_s)
        self.finished.set()


@pytest.fixture
def slow_org(emulator_factory: Any, monkeypatch: pytest.MonkeyPatch
             ) -> Iterator[tuple[Emulator, HeldLogins]]:
    emu: Emulator = emulator_factory(latency_ms=LATENCY_MS)
    org = emu.context.org
    assert org is not None
    held = HeldLogins(org.settings.latency_ms / 1000.0)
    monkeypatch.setattr(org, "pause", held.pause)
    yield emu, held
    held.released.set()


@pytest.mark.parametrize("auth", ["jwt", "client_credentials"])
def test_sigterm_during_a_slow_login_exits_0_within_10_s(
    slow_org: tuple[Emulator, HeldLogins], tmp_path: Path, auth: str
) -> None:
    emu, held = slow_org
    info_file = tmp_path / "info.json"
    emu.write_info(info_file)
    daemon = Daemon(info_file, tmp_path / "state", tmp_path / "daemon.log", auth=auth)
    daemon.args[:3] = module_argv("service")
    daemon.start()
    try:
        assert held.arrived.wait(60), "the daemon's token request never reached the emulator"
        daemon.signal(signal.SIGTERM)
        code = daemon.wait(STOP_BUDGET_S)  # README's deadline: raises TimeoutExpired past it
    finally:
        daemon.stop_quietly()
    log = daemon.log_text()
    assert code == 0, log
    assert not held.finished.is_set(), "the daemon must exit while its login is in flight"
    assert "stopped cleanly" in log
    assert "did not stop" not in log
    assert "not waiting for" not in log  # no stream thread was abandoned either
