"""One Salesforce session shared by the gRPC streams and REST calls, refreshed single-flight.

:class:`SessionProvider` hands out the current :class:`Session`. When a call is rejected, the
caller passes the token it used to :meth:`SessionProvider.refresh`; the first caller with that
stale token fetches a new session, every other caller with the same stale token gets the one
already fetched. When fetching fails, further attempts wait out a capped exponential backoff
(callers get :class:`~subscriber.errors.RetryLater` meanwhile), so a token endpoint outage does
not turn into a login storm. Where sessions come from is a :class:`TokenSource`:
:mod:`subscriber.oauth` has the OAuth flows; :class:`StaticToken` wraps a given token.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from subscriber.errors import Fatal, RetryLater

log = logging.getLogger(__name__)


class Secret:
    """A string that never shows itself in ``repr``, ``str``, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    @classmethod
    def from_file(cls, path: Path | str) -> Secret:
        """Read a secret file (e.g. a systemd credential); one trailing newline is dropped."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise Fatal(f"cannot read secret file {path}: {exc.strerror}") from None
        return cls(text.removesuffix("\n"))

    @classmethod
    def from_env(cls, name: str) -> Secret:
        value = os.environ.get(name)
        if not value:
            raise Fatal(f"environment variable {name} is not set or empty")
        return cls(value)

    def reveal(self) -> str:
        """The secret itself; call only where it is sent, never where it is logged."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__


@dataclass(frozen=True)
class Session:
    """An authenticated session: what every Pub/Sub RPC and REST call needs.

    ``org_id`` is the 18-character org ID (the Pub/Sub ``tenantid``). The token is left out of
    ``repr``.
    """

    access_token: str = field(repr=False)
    instance_url: str
    org_id: str


class TokenSource(Protocol):
    """Obtains a brand-new session (one login).

    Raises :class:`~subscriber.errors.Fatal` when the credentials are rejected and
    :class:`~subscriber.errors.RetryLater` when the token endpoint is unreachable or failing.
    """

    def fetch(self) -> Session: ...


@dataclass(frozen=True)
class StaticToken:
    """A token obtained elsewhere (e.g. ``sf org display``). It cannot be refreshed."""

    session: Session

    def fetch(self) -> Session:
        return self.session


class SessionProvider:
    """The current session, refreshed once per rejection however many callers notice it."""

    def __init__(
        self,
        source: TokenSource,
        *,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._lock = threading.Lock()
        self._session: Session | None = None
        self._failures = 0
        self._retry_at = 0.0
        self._backoff = (backoff_initial_s, backoff_max_s)
        self._clock = clock
        self.refresh_count = 0

    def __repr__(self) -> str:
        return f"SessionProvider(source={type(self._source).__name__}, session={self._session!r})"

    def current(self) -> Session:
        """The session to use now, logging in first if there is none yet."""
        with self._lock:
            if self._session is None:
                self._session = self._fetch_locked()
            return self._session

    def refresh(self, stale_token: str) -> Session:
        """A session other than the one holding ``stale_token`` (which the server rejected)."""
        with self._lock:
            if self._session is not None and self._session.access_token != stale_token:
                return self._session
            session = self._fetch_locked()
            if session.access_token == stale_token:
                raise Fatal(
                    "the session was rejected and the token source cannot issue a new one "
                    f"({type(self._source).__name__}); configure an OAuth flow or a fresh token"
                )
            self._session = session
            self.refresh_count += 1
            log.info("session refreshed for org %s", session.org_id)
            return session

    def _fetch_locked(self) -> Session:
        wait_s = self._retry_at - self._clock()
        if wait_s > 0:
            raise RetryLater(
                f"login failed {self._failures} time(s) in a row; next attempt in {wait_s:.1f}s"
            )
        try:
            session = self._source.fetch()
        except RetryLater:
            self._failures += 1
            initial_s, max_s = self._backoff
            self._retry_at = self._clock() + min(max_s, initial_s * 2 ** (self._failures - 1))
            raise
        self._failures = 0
        self._retry_at = 0.0
        return session
