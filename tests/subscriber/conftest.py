"""Fixtures for the subscriber tests (the harness itself is in ``subscriber_harness``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from subscriber_harness import Harness, HarnessFactory, intake_settings

from emulator.pubsub.subscribe import StreamSettings
from emulator.server import Emulator


@pytest.fixture
def harness_factory(emulator_factory: Any, tmp_path: Path) -> Iterator[HarnessFactory]:
    """``make(stream=StreamSettings(...), emu=None, inbox=None, **intake_overrides)``: a
    harness (not started) on a fresh emulator, or on ``emu`` when given."""
    made: list[Harness] = []

    def make(
        stream: StreamSettings | None = None,
        emu: Emulator | None = None,
        inbox: Path | None = None,
        **overrides: Any,
    ) -> Harness:
        emu = emu or emulator_factory(stream=stream or StreamSettings(keepalive_s=0.5))
        harness = Harness(emu, inbox or tmp_path / "inbox.db", intake_settings(emu, **overrides))
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.close()
