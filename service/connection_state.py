"""Whether each topic's stream is connected, logged once per change and kept for ``status``.

The intake retries connection failures forever (right for outages), so what an operator
needs is the state, not every attempt: one WARNING when a topic starts failing (what fails,
since when), one more only when the failure changes kind, and one INFO when it is connected
again. Each attempt is logged at DEBUG only.

The state is written to ``STATE/connection.json`` on every change and every failed attempt
(a small file replaced by rename, no fsync: losing it in a crash loses nothing but a status
line), so ``lifecycle-sync status`` can say whether a running daemon is connected, since
when, and what failed last. A topic is *connected* from the first sign that the whole path
works (GetTopic answered with a session, a keepalive, a batch) until an attempt fails.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("lifecycle_sync.connection")

STATE_FILE = "connection.json"
CONNECTING, CONNECTED, FAILING = "connecting", "connected", "failing"


@dataclass
class TopicConnection:
    """One topic: its state, since when (epoch seconds) and the last failure."""

    state: str
    since: float
    last_error: str | None = None
    last_error_at: float | None = None
    failures: int = 0  # failed attempts since the topic was last connected
    kinds: set[str] = field(default_factory=set)  # failure kinds already logged this episode


def failure_kind(reason: str) -> str:
    """``reason`` with its numbers blanked: "login failed 3 time(s)…in 1.5s" and "…4 time(s)…
    in 2.0s" are the same kind of failure and are logged once."""
    return re.sub(r"\d+(?:\.\d+)?", "#", reason)


def _iso(epoch_s: float | None) -> str | None:
    if epoch_s is None:
        return None
    return dt.datetime.fromtimestamp(epoch_s, dt.UTC).isoformat(timespec="seconds")


class ConnectionTracker:
    """Thread-safe per-topic connection state (stream threads report into it)."""

    def __init__(self, topics: Iterable[str], state_dir: Path | None,
                 clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._path = state_dir / STATE_FILE if state_dir is not None else None
        self._started = clock()
        self._topics = {t: TopicConnection(CONNECTING, self._started) for t in topics}
        self._save_locked()

    def connected(self, topic: str) -> None:
        """A sign that ``topic``'s stream works; logs only when that is news."""
        with self._lock:
            current = self._topic_locked(topic)
            if current.state == CONNECTED:
                return
            now = self._clock()
            if current.state == FAILING:
                log.info("%s: connected again after %.0f s of failures (%d attempt(s); last: "
                         "%s)", topic, now - current.since, current.failures, current.last_error)
            else:
                log.info("%s: connected", topic)
            current.state, current.since, current.failures = CONNECTED, now, 0
            current.kinds.clear()
            self._save_locked()

    def failed(self, topic: str, reason: str, delay_s: float) -> None:
        """An attempt on ``topic`` failed; it is retried in ``delay_s``."""
        with self._lock:
            current = self._topic_locked(topic)
            now = self._clock()
            if current.state != FAILING:
                current.state, current.since = FAILING, now
            current.failures += 1
            current.last_error, current.last_error_at = reason, now
            kind = failure_kind(reason)
            if kind in current.kinds:
                log.debug("%s: still failing: %s; retrying in %.1f s", topic, reason, delay_s)
            else:
                current.kinds.add(kind)
                log.warning("%s: not connected since %s: %s; retrying with backoff (next in "
                            "%.1f s), logged again only if the failure changes", topic,
                            _iso(current.since), reason, delay_s)
            self._save_locked()

    def snapshot(self) -> dict[str, Any]:
        """What ``STATE/connection.json`` holds (see :func:`read_connection_state`)."""
        with self._lock:
            return self._snapshot_locked()

    def _topic_locked(self, topic: str) -> TopicConnection:
        return self._topics.setdefault(topic, TopicConnection(CONNECTING, self._clock()))

    def _snapshot_locked(self) -> dict[str, Any]:
        topics = {}
        for topic, state in sorted(self._topics.items()):
            plain = asdict(state)
            plain.pop("kinds")
            topics[topic] = plain
        return {"pid": os.getpid(), "started_at": self._started, "written_at": self._clock(),
                "topics": topics}

    def _save_locked(self) -> None:
        if self._path is None:
            return
        tmp = self._path.with_name(self._path.name + ".tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                json.dump(self._snapshot_locked(), out)
            os.replace(tmp, self._path)
        except OSError as exc:  # a status aid: never worth stopping the intake for
            log.debug("cannot write %s: %s", self._path, exc)


def read_connection_state(state_dir: Path) -> dict[str, Any] | None:
    """The last state a daemon wrote in ``state_dir``, or None when there is none."""
    try:
        data = json.loads((state_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("topics"), dict) else None
