"""Fixtures of tests/scheduler: ``org`` (a fresh emulator per test, with the jobs' Salesforce
door, the apply side's gateway and an admin client) and ``clock`` (a controllable clock)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sched_rig import FakeClock, OrgRig


@pytest.fixture
def org(emulator_factory, tmp_path: Path) -> Iterator[OrgRig]:
    emulator = emulator_factory(state_dir=tmp_path / "emulator")
    rig = OrgRig(emulator, tmp_path)
    yield rig
    rig.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC))
