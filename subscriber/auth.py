"""One Salesforce session shared by the gRPC streams and REST calls, refreshed single-flight.

:class:`SessionProvider` hands out the current :class:`Session`. When a call is rejected, the
caller passes the token it used to :meth:`SessionProvider.refresh`; the first caller with that
stale token fetches a new session, every other caller with the same stale token gets the one
already fetched. When fetching fails, further attempts wait out a capped exponential backoff
(callers get :class:`~subscriber.errors.RetryLater` meanwhile), so a token endpoint outage does
not turn into a login storm. Logins run on their own daemon thread with no lock held, so a
caller that passes a ``cancel`` event (the intake stopping) never waits for a slow token
endpoint. Where sessions come from is a :class:`TokenSource`:
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

_CANCEL_POLL_S = 0.05  # how soon a waiter notices its cancel event


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


class _Login:
    """One login in flight, on its own daemon thread; everyone who needs it waits here."""

    def __init__(self, refresh: bool) -> None:
        self.refresh = refresh
        self.done = threading.Event()
        self.session: Session | None = None
        self.error: BaseException | None = None

    def wait(self, cancel: threading.Event | None) -> Session:
        """The login's session (or its error); :class:`RetryLater` as soon as ``cancel`` is
        set, however long the login itself still takes."""
        while not self.done.is_set():
            if cancel is not None and cancel.is_set():
                raise RetryLater("stopped waiting for the login in flight (stopping)")
            self.done.wait(_CANCEL_POLL_S if cancel is not None else None)
        if self.error is not None:
            raise self.error
        if self.session is None:  # settle() always sets one of the two
            raise RetryLater("the login ended without a session")
        return self.session


class SessionProvider:
    """The current session, refreshed once per rejection however many callers notice it.

    The login runs on a daemon thread and the lock is never held while it does: a caller that
    passes ``cancel`` stops waiting as soon as it is set (the intake stopping), even while the
    token request is still blocked in HTTP. Nothing is lost by abandoning it: a late session
    is simply stored for the next caller.
    """

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
        self._login: _Login | None = None
        self._failures = 0
        self._last_error = ""
        self._retry_at = 0.0
        self._backoff = (backoff_initial_s, backoff_max_s)
        self._clock = clock
        self.refresh_count = 0

    def __repr__(self) -> str:
        return f"SessionProvider(source={type(self._source).__name__}, session={self._session!r})"

    def current(self, cancel: threading.Event | None = None) -> Session:
        """The session to use now, logging in first if there is none yet (while a refresh is
        in flight this is still the old one; a caller it fails for joins that refresh)."""
        with self._lock:
            if self._session is not None:
                return self._session
            login = self._join_or_start_locked(refresh=False)
        return login.wait(cancel)

    def refresh(self, stale_token: str, cancel: threading.Event | None = None) -> Session:
        """A session other than the one holding ``stale_token`` (which the server rejected)."""
        with self._lock:
            if self._session is not None and self._session.access_token != stale_token:
                return self._session
            login = self._join_or_start_locked(refresh=True)
        session = login.wait(cancel)
        if session.access_token == stale_token:
            raise Fatal(
                "the session was rejected and the token source cannot issue a new one "
                f"({type(self._source).__name__}); configure an OAuth flow or a fresh token"
            )
        return session

    def _join_or_start_locked(self, refresh: bool) -> _Login:
        """The login in flight, else a new one (unless still backing off from failures)."""
        if self._login is not None:
            return self._login
        wait_s = self._retry_at - self._clock()
        if wait_s > 0:
            raise RetryLater(
                f"login failed {self._failures} time(s) in a row (last: {self._last_error}); "
                f"next attempt in {wait_s:.1f}s"
            )
        login = self._login = _Login(refresh)
        threading.Thread(target=self._run_login, args=(login,), name="session-login",
                         daemon=True).start()
        return login

    def _run_login(self, login: _Login) -> None:
        try:
            session = self._source.fetch()
        except BaseException as exc:  # noqa: BLE001 - handed to every waiter by _settle
            self._settle(login, None, exc)
        else:
            self._settle(login, session, None)

    def _settle(self, login: _Login, session: Session | None, error: BaseException | None
                ) -> None:
        with self._lock:
            self._login = None
            if isinstance(error, RetryLater):
                self._failures += 1
                self._last_error = str(error)
                initial_s, max_s = self._backoff
                delay_s = min(max_s, initial_s * 2 ** (self._failures - 1))
                self._retry_at = self._clock() + delay_s
            elif session is not None:
                self._failures, self._retry_at = 0, 0.0
                old = self._session
                if login.refresh and (old is None or old.access_token != session.access_token):
                    self.refresh_count += 1
                    log.info("session refreshed for org %s", session.org_id)
                self._session = session
            login.session, login.error = session, error
            login.done.set()
