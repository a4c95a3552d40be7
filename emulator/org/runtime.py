"""Everything the org's HTTP half shares, built once per running emulator.

REST, OAuth and SOAP handlers receive one :class:`Org`; the admin API and tests reach the same
object as ``EmulatorContext.org`` to change settings, arm faults and read counters while the
emulator runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from emulator.catalog import Catalog
from emulator.identity import OrgIdentity
from emulator.org.assignment import AssignmentRules
from emulator.org.credentials import ClientCredentials
from emulator.org.cursors import QueryCursors
from emulator.org.faults import CallCounters, OrgFaults
from emulator.org.limits import ApiUsage
from emulator.org.records import RecordStore
from emulator.org.request_log import RequestLog
from emulator.pubsub.bus import EventBus
from emulator.tokens import TokenStore

DEFAULT_API_VERSION = "62.0"
MAX_QUERY_BATCH = 2000


@dataclass
class OrgSettings:
    """Knobs that may change while the emulator runs (admin API: ``POST /org/settings``).

    ``query_batch_size`` is the batch a query returns without a ``Sforce-Query-Options``
    header (Salesforce: 2000); tests set it small to exercise ``nextRecordsUrl`` paging.
    """

    latency_ms: float = 0.0
    query_batch_size: int = MAX_QUERY_BATCH
    clock_offset_s: float = 0.0  # OAuth's "now" for JWT exp (admin: POST /faults/clock)


@dataclass
class Org:
    """The emulated org: schema, records, sessions, credentials, limits, faults, counters."""

    catalog: Catalog
    store: RecordStore
    identity: OrgIdentity
    tokens: TokenStore
    bus: EventBus
    credentials: ClientCredentials
    usage: ApiUsage
    settings: OrgSettings = field(default_factory=OrgSettings)
    faults: OrgFaults = field(default_factory=OrgFaults)
    counters: CallCounters = field(default_factory=CallCounters)
    requests: RequestLog = field(default_factory=RequestLog)
    cursors: QueryCursors = field(default_factory=QueryCursors)
    assignment: AssignmentRules = field(default_factory=AssignmentRules)
    instance_url: str = ""

    def pause(self) -> None:
        """The configured fixed latency, applied once per HTTP request."""
        if self.settings.latency_ms > 0:
            time.sleep(self.settings.latency_ms / 1000.0)

    def identity_url(self, user_id: str) -> str:
        """The ``id`` of a token response: ``{login}/id/{orgId}/{userId}``."""
        return f"{self.instance_url}/id/{self.identity.org_id}/{user_id}"
