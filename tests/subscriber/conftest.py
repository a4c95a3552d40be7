"""Fixtures for the subscriber tests (the harness itself is in ``subscriber_harness``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.inbox_places import InboxPlace, SqlitePlace
from subscriber_harness import Harness, HarnessFactory, intake_settings

from emulator.pubsub.subscribe import StreamSettings
from emulator.server import Emulator


@pytest.fixture
def harness_factory(emulator_factory: Any, inbox_place: InboxPlace
                    ) -> Iterator[HarnessFactory]:
    """``make(stream=StreamSettings(...), emu=None, inbox=None, **intake_overrides)``: a
    harness (not started) on a fresh emulator, or on ``emu`` when given; its inbox is the
    test's ``inbox_place`` (SQLite, or a fenced PostgreSQL schema in modules that run on both
    backends) unless ``inbox`` names another SQLite file. Harnesses of one test share it."""
    made: list[Harness] = []

    def make(
        stream: StreamSettings | None = None,
        emu: Emulator | None = None,
        inbox: Path | None = None,
        **overrides: Any,
    ) -> Harness:
        emu = emu or emulator_factory(stream=stream or StreamSettings(keepalive_s=0.5))
        place = inbox_place if inbox is None else SqlitePlace(inbox)
        harness = Harness(emu, place, intake_settings(emu, **overrides))
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.close()
