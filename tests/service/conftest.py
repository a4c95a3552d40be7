"""Fixtures for the service tests: the daemon as a subprocess beside an emulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from svc_rig import Rig, RigFactory, rig_factory


@pytest.fixture
def make_rig(tmp_path: Path, emulator_factory: Callable[..., Any]) -> Iterator[RigFactory]:
    """``make_rig(stream=None)``: a :class:`Rig` on a fresh emulator (at most one per test)."""
    yield from rig_factory(tmp_path, emulator_factory)


@pytest.fixture
def rig(make_rig: RigFactory) -> Rig:
    """A rig on an emulator with 0.5 s keepalives."""
    return make_rig()
