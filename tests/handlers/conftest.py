"""Fixtures of tests/handlers: ``t0``, and ``rig`` (one emulator and one daemon, a real
process, per test module). Entry builders live in ``entry_builders``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from apply_rig import ApplyRig
from helpers.inbox_places import upgraded_schema

from emulator.pubsub.subscribe import StreamSettings
from emulator.server import Emulator, EmulatorSettings


@pytest.fixture
def t0() -> int:
    return 1_790_000_000_000


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
        ) -> Iterator[ApplyRig]:
    """On the SQLite inbox; modules that set ``pytestmark = RIG_ON_BOTH_BACKENDS`` also get
    one daemon on a fresh upgraded PostgreSQL schema (the session's server)."""
    work = tmp_path_factory.mktemp("apply-e2e")
    settings = EmulatorSettings(state_dir=work / "emulator",
                                stream=StreamSettings(keepalive_s=0.5, idle_timeout_s=60.0))
    dsn = None
    if getattr(request, "param", "sqlite") == "postgres":
        dsn = upgraded_schema(request.getfixturevalue("pg_server"))
    with Emulator(settings) as emulator:
        rig = ApplyRig(emulator, work, inbox_dsn=dsn)
        rig.start()
        try:
            yield rig
        finally:
            rig.close()
