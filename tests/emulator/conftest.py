"""Fixtures for the emulator's own tests (the org fixtures live in conftest_org.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.avro_schemas import change_event_schema
from emulator.catalog import Catalog
from emulator.pubsub.bus import EventBus
from emulator.pubsub.store import EventStore

LEAD_CHANGE_TOPIC = "/data/LeadChangeEvent"


@pytest.fixture
def bus(tmp_path: Path, catalog: Catalog) -> Iterator[EventBus]:
    """A bare event bus with the Lead change-event topic defined, for CDC unit tests."""
    bus = EventBus(EventStore(tmp_path / "events.db"))
    lead = catalog.get("Lead")
    assert lead is not None
    bus.define_topic(LEAD_CHANGE_TOPIC, change_event_schema(lead))
    yield bus
    bus.store.close()
