"""A running intake against a real emulator over TLS, for the subscriber tests.

Tests wait on conditions with deadlines: :class:`RecordingHooks` notifies a condition variable
on every hook call, and :meth:`Harness.wait_for` re-checks its predicate (usually inbox counts)
each time, so nothing sleeps to synchronise.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from helpers.inbox_places import InboxPlace, SqlitePlace

from emulator.server import Emulator
from subscriber.auth import Session, SessionProvider
from subscriber.events import BatchStats, EntryStatus
from subscriber.hooks import IntakeHooks
from subscriber.intake import Intake
from subscriber.settings import IntakeSettings, ReplayPolicy

TRIAL = "/event/SelfServeTrialEvent__e"
LEAD = "/data/LeadChangeEvent"
WAIT_S = 15.0


class EmulatorTokens:
    """A token source that logs in by asking the emulator for a new session (as OAuth would)."""

    def __init__(self, emu: Emulator) -> None:
        self._emu = emu
        self.logins = 0

    def fetch(self) -> Session:
        ctx = self._emu.context
        token, _ = ctx.tokens.issue(ctx.identity.integration_user_id)
        self.logins += 1
        return Session(token, ctx.instance_url, ctx.identity.org_id)


@dataclass
class RecordingHooks(IntakeHooks):
    """Records every hook call and wakes waiters."""

    cond: threading.Condition = field(default_factory=threading.Condition)
    batches: list[tuple[str, BatchStats]] = field(default_factory=list)
    keepalives: list[tuple[str, bytes]] = field(default_factory=list)
    reconnects: list[tuple[str, str]] = field(default_factory=list)
    # (topic, delay_s, batches stored before it): the backoff each reconnect waited
    delays: list[tuple[str, float, int]] = field(default_factory=list)
    rejections: list[tuple[str, bytes, ReplayPolicy]] = field(default_factory=list)

    def _record(self, into: list[Any], item: Any) -> None:
        with self.cond:
            into.append(item)
            self.cond.notify_all()

    def batch_stored(self, topic: str, stats: BatchStats) -> None:
        self._record(self.batches, (topic, stats))

    def keepalive(self, topic: str, replay_id: bytes) -> None:
        self._record(self.keepalives, (topic, replay_id))

    def reconnecting(self, topic: str, reason: str, delay_s: float) -> None:
        with self.cond:
            self.delays.append((topic, delay_s, len(self.batches)))
        self._record(self.reconnects, (topic, reason))

    def replay_rejected(self, topic: str, replay_id: bytes, policy: ReplayPolicy) -> None:
        self._record(self.rejections, (topic, replay_id, policy))


class Harness:
    """An intake running on a thread against one emulator, with its inbox and hooks."""

    def __init__(self, emu: Emulator, place: InboxPlace, settings: IntakeSettings) -> None:
        self.emu = emu
        self.place = place
        self.settings = settings
        self.tokens = EmulatorTokens(emu)
        self.sessions = SessionProvider(self.tokens, backoff_initial_s=0.05, backoff_max_s=0.2)
        self.hooks = RecordingHooks()
        self.inbox = place.open()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failure: BaseException | None = None

    def start(self) -> Harness:
        intake = Intake(self.settings, self.sessions, self.inbox, self.hooks)
        self._stop = threading.Event()
        self.failure = None
        self._thread = threading.Thread(target=self._run, args=(intake,), daemon=True)
        self._thread.start()
        return self

    def _run(self, intake: Intake) -> None:
        try:
            intake.run(self._stop)
        except BaseException as exc:  # reported by stop() / wait_failure()
            self.failure = exc
        finally:
            with self.hooks.cond:
                self.hooks.cond.notify_all()

    def stop(self) -> None:
        """Stop the intake, wait for run() to return, re-raise what it raised."""
        self._stop.set()
        assert self._thread is not None
        self._thread.join(WAIT_S)
        assert not self._thread.is_alive(), "intake did not stop"
        if self.failure is not None:
            raise self.failure

    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait_for(self, predicate: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
        with self.hooks.cond:
            ok = self.hooks.cond.wait_for(
                lambda: predicate() or self.failure is not None, timeout_s
            )
        if self.failure is not None and not predicate():
            raise AssertionError(f"intake failed while waiting for {what}") from self.failure
        assert ok, f"timed out after {timeout_s}s waiting for {what}"

    def wait_failure(self, timeout_s: float = WAIT_S) -> BaseException:
        assert self._thread is not None
        self._thread.join(timeout_s)
        assert not self._thread.is_alive(), "intake is still running"
        assert self.failure is not None, "intake returned without failing"
        return self.failure

    @property
    def inbox_path(self) -> Path:
        """The SQLite file (tests that reach into it run on that backend only)."""
        assert isinstance(self.place, SqlitePlace), "an SQLite-only test"
        return self.place.path

    def count(self, topic: str, status: EntryStatus = EntryStatus.PENDING) -> int:
        counts = self.inbox.counts_by_topic().get(topic)
        if counts is None:
            return 0
        return {EntryStatus.PENDING: counts.pending, EntryStatus.APPLIED: counts.applied,
                EntryStatus.POISON: counts.poison}[status]

    def wait_count(self, topic: str, n: int, status: EntryStatus = EntryStatus.PENDING) -> None:
        self.wait_for(lambda: self.count(topic, status) >= n, f"{n} {status} on {topic}")

    def publish_trials(self, n: int, start: int = 0) -> list[str]:
        """Publish n SelfServeTrialEvent__e events; returns their EventUuids."""
        ids = []
        for i in range(start, start + n):
            stored = self.emu.context.bus.publish_record(TRIAL, trial_record(i))
            ids.append(stored.event_id)
        return ids

    def close(self) -> None:
        if self.running():
            self._stop.set()
            assert self._thread is not None
            self._thread.join(WAIT_S)
        self.inbox.close()


def trial_record(i: int, **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "CreatedDate": 1_700_000_000_000 + i, "CreatedById": "005000000000001AAA",
        "Workspace_ID__c": f"w{i}", "Event_Type__c": "trial_started",
    }
    record.update(fields)
    return record


def intake_settings(emu: Emulator, **overrides: Any) -> IntakeSettings:
    info = emu.info()
    base = IntakeSettings(
        endpoint=info["pubsub_endpoint"], ca_file=Path(info["ca_cert"]),
        keepalive_s=5.0, watchdog_margin_s=2.0, backoff_initial_s=0.05, backoff_max_s=0.5,
        ping_interval_s=30.0,
    )
    return replace(base, **overrides)


HarnessFactory = Callable[..., Harness]


class HeldLogins:
    """The emulator's org HTTP latency (``latency_ms``), made observable: ``arrived`` is set
    when a request (a login) starts waiting it out, ``finished`` when one got through, and
    :meth:`release` cuts every wait short (teardown)."""

    def __init__(self, emu: Emulator) -> None:
        org = emu.context.org
        assert org is not None
        self.latency_s = org.settings.latency_ms / 1000.0
        self.arrived = threading.Event()
        self.finished = threading.Event()
        self._released = threading.Event()

    def pause(self) -> None:
        """Stands in for ``Org.pause``."""
        self.arrived.set()
        self._released.wait(self.latency_s)
        self.finished.set()

    def release(self) -> None:
        self._released.set()
