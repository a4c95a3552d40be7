"""Fixtures for the failover tests: ``pair``, two nodes on one PostgreSQL (schema upgraded)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pair_rig import Pair, make_pair

from emulator.pubsub.subscribe import StreamSettings
from subscriber.pg_schema import upgrade


@pytest.fixture
def upgraded_dsn(pg_dsn: str) -> str:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        upgrade(conn)
    return pg_dsn


@pytest.fixture
def pair(upgraded_dsn: str, tmp_path: Path, emulator_factory: Any) -> Iterator[Pair]:
    emu = emulator_factory(stream=StreamSettings(keepalive_s=0.5, idle_timeout_s=30.0))
    made = make_pair(upgraded_dsn, tmp_path, emu)
    yield made
    made.close()
