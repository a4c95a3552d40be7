"""What every part of a running emulator shares, built once by :class:`emulator.server.Emulator`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from emulator.catalog import Catalog
from emulator.identity import OrgIdentity
from emulator.org.runtime import Org
from emulator.pubsub.bus import EventBus
from emulator.pubsub.faults import PubSubFaults
from emulator.tls import TlsFiles
from emulator.tokens import TokenStore


@dataclass
class EmulatorContext:
    """Shared state: schema, event bus, sessions, identity, TLS files and fault switches.

    ``org`` is the REST/OAuth/SOAP half (records, limits, org faults, call counters); tests
    reach it as ``emulator.context.org`` to arm faults or read counters in-process.
    """

    state_dir: Path
    catalog: Catalog
    bus: EventBus
    tokens: TokenStore
    identity: OrgIdentity
    tls: TlsFiles
    pubsub_faults: PubSubFaults
    instance_url: str = ""
    org: Org | None = None
    extras: dict[str, object] = field(default_factory=dict)
