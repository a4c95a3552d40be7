"""Whether each topic's stream is connected, logged once per change and kept for ``status``.

The intake retries connection failures forever (right for outages), so what an operator
needs is the state, not every attempt: one WARNING when a topic starts failing (what fails,
since when), one more only when the failure changes kind, and one INFO when it is connected
again. Each attempt is logged at DEBUG only.

The state is written to ``STATE/connection.json`` on every change and every failed attempt
(a small file replaced by rename, no fsync: losing it in a crash loses nothing but a status
line), so ``lifecycle-sync status`` can say whether a running daemon is connected, since
when, and what failed last. A topic is *connected* from the first sign that the whole path
works (GetTopic answered with a session, a Subscribe stream open, a keepalive, a batch) until
an attempt fails. A stream counts as open once its first FetchRequest went out on a connected
channel (a call that cannot connect or complete TLS fails instead); the server may still
reject it (e.g. an expired session, then refreshed), which is a failure like any other.
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


# While logins back off, the session provider reports its last failure wrapped in a count
# and its own retry time; the cause inside is what the operator needs, and what is compared.
_LOGIN_BACKOFF = re.compile(r"login failed \d+ time\(s\) in a row \(last: (?P<last>.*)\); "
                            r"next attempt in (?P<wait_s>\d+(?:\.\d+)?)s")


def underlying_cause(reason: str) -> tuple[str, float]:
    """``reason`` with a login-backoff wrapper replaced by the failure inside it, and how
    long that backoff still holds (0.0 without one): the first failed login and the backoff
    reports after it are the same failure."""
    found = _LOGIN_BACKOFF.search(reason)
    if found is None:
        return reason, 0.0
    cause = reason[:found.start()] + found["last"] + reason[found.end():]
    return cause, float(found["wait_s"])


def failure_kind(reason: str) -> str:
    """The cause of ``reason`` with its numbers blanked: "connection refused after 1.5 s"
    and "…after 2.0 s" (or a first failed login and the backoff after it) are the same kind
    of failure and are logged once."""
    return re.sub(r"\d+(?:\.\d+)?", "#", underlying_cause(reason)[0])


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
            again = current.state == FAILING
            args = (topic, now - current.since, current.failures, current.last_error)
            current.state, current.since, current.failures = CONNECTED, now, 0
            current.kinds.clear()
            self._save_locked()  # before the log line: who reads the line finds the state
            if again:
                log.info("%s: connected again after %.0f s of failures (%d attempt(s); last: "
                         "%s)", *args)
            else:
                log.info("%s: connected", topic)

    def failed(self, topic: str, reason: str, delay_s: float) -> None:
        """An attempt on ``topic`` failed; it is retried in ``delay_s`` (later if the login
        is backing off: the reason then says until when)."""
        cause, login_wait_s = underlying_cause(reason)
        next_s = max(delay_s, login_wait_s)
        with self._lock:
            current = self._topic_locked(topic)
            now = self._clock()
            if current.state != FAILING:
                current.state, current.since = FAILING, now
            current.failures += 1
            current.last_error, current.last_error_at = cause, now
            kind = failure_kind(cause)
            if kind in current.kinds:
                log.debug("%s: still failing: %s; next attempt in %.1f s", topic, cause, next_s)
            else:
                current.kinds.add(kind)
                log.warning("%s: not connected since %s: %s (retrying with backoff, next "
                            "attempt in %.1f s; logged again only if the failure changes)",
                            topic, _iso(current.since), cause, next_s)
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
