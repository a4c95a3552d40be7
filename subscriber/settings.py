"""How the intake connects, subscribes and recovers: one frozen, validated value."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

MAX_BATCH = 100  # the Pub/Sub API never has more than 100 events outstanding per stream
MIN_RECEIVE_BYTES = 4 * 1024 * 1024  # room for a full response of 100 events
MAX_RECEIVE_BYTES = 2**31 - 1  # gRPC's option is a C int
PLATFORM_EVENT_TOPIC = "/event/SelfServeTrialEvent__e"
LEAD_CHANGE_TOPIC = "/data/LeadChangeEvent"


class ReplayPolicy(StrEnum):
    """What to do when Salesforce refuses the stored replay ID (``replayid.corrupted``).

    ``fail``: stop with a :class:`~subscriber.errors.Fatal` error and leave the checkpoint alone
    (a human decides). ``earliest``: resubscribe from the oldest retained event (events past the
    72-hour window are gone; the rest arrive again and are deduplicated; replays count against
    the delivery allocation). ``latest``: resubscribe from new events only (everything published
    since the checkpoint is skipped; run a reconciliation).
    """

    FAIL = "fail"
    EARLIEST = "earliest"
    LATEST = "latest"


class StartFrom(StrEnum):
    """Where a topic with no checkpoint yet starts (first run only)."""

    EARLIEST = "earliest"
    LATEST = "latest"


@dataclass(frozen=True)
class IntakeSettings:
    """Everything :class:`~subscriber.intake.Intake` needs besides credentials and storage.

    ``keepalive_s`` is what we expect from the server (Salesforce: an empty response at least
    every 270 s); with ``watchdog_margin_s`` it bounds how long a silent stream is trusted.
    ``batch_size`` is how many events one FetchRequest asks for (at most 100 outstanding).

    ``ping_interval_s`` paces HTTP/2 keepalive pings, which find a dead TCP connection sooner
    than the watchdog. gRPC servers by default answer pings that come more often than every
    5 minutes with no data in between with GOAWAY ``too_many_pings`` after 2 strikes; data
    (the server's keepalive responses) clears the strikes. 150 s means at most 2 pings between
    two 270-second keepalives, i.e. one strike at most. Go lower only if the server allows it.
    """

    endpoint: str = "api.pubsub.salesforce.com:7443"
    topics: tuple[str, ...] = (PLATFORM_EVENT_TOPIC, LEAD_CHANGE_TOPIC)
    ca_file: Path | None = None
    keepalive_s: float = 270.0
    watchdog_margin_s: float = 30.0
    batch_size: int = MAX_BATCH
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0
    on_invalid_replay: ReplayPolicy = ReplayPolicy.FAIL
    start_from: StartFrom = StartFrom.EARLIEST
    max_receive_bytes: int = 32 * 1024 * 1024
    ping_interval_s: float = 150.0
    ping_timeout_s: float = 20.0
    rpc_timeout_s: float = 30.0

    def __post_init__(self) -> None:
        problems = self._coerce()
        problems += self.problems()
        if problems:
            raise ValueError("invalid intake settings: " + "; ".join(problems))

    def problems(self) -> list[str]:
        """Every problem with these settings (empty when valid)."""
        found: list[str] = []
        if not self.topics:
            found.append("topics must name at least one topic")
        if len({t.lower() for t in self.topics}) != len(self.topics):
            found.append("topics must not repeat")
        if not 1 <= self.batch_size <= MAX_BATCH:
            found.append(f"batch_size must be 1..{MAX_BATCH}, not {self.batch_size}")
        for name in ("keepalive_s", "backoff_initial_s", "ping_interval_s", "ping_timeout_s",
                     "rpc_timeout_s"):
            if getattr(self, name) <= 0:
                found.append(f"{name} must be positive")
        if self.watchdog_margin_s < 0:
            found.append("watchdog_margin_s must not be negative")
        if self.backoff_max_s < self.backoff_initial_s:
            found.append("backoff_max_s must be at least backoff_initial_s")
        if not MIN_RECEIVE_BYTES <= self.max_receive_bytes <= MAX_RECEIVE_BYTES:
            found.append(f"max_receive_bytes must be {MIN_RECEIVE_BYTES}..{MAX_RECEIVE_BYTES} "
                         f"(4 MiB..2 GiB), not {self.max_receive_bytes}")
        return found

    def _coerce(self) -> list[str]:
        """Accept plain strings (as read from TOML) for the enum and path fields."""
        found: list[str] = []
        for name, kind in (("on_invalid_replay", ReplayPolicy), ("start_from", StartFrom)):
            try:
                object.__setattr__(self, name, kind(getattr(self, name)))
            except ValueError:
                choices = ", ".join(k.value for k in kind)
                found.append(f"{name} must be one of {choices}, not {getattr(self, name)!r}")
        object.__setattr__(self, "topics", tuple(self.topics))
        if self.ca_file is not None:
            object.__setattr__(self, "ca_file", Path(self.ca_file))
        return found

    @property
    def watchdog_s(self) -> float:
        """Silence longer than this (no response of any kind) means the stream is dead."""
        return self.keepalive_s + self.watchdog_margin_s
