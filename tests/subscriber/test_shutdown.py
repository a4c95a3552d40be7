"""Stopping never waits on the network: not for a login blocked in HTTP, not for a unary call
the server holds, not for somebody else's login. Single-flight refresh still holds."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from subscriber_harness import (
    TRIAL,
    WAIT_S,
    EmulatorTokens,
    HarnessFactory,
    HeldLogins,
    intake_settings,
)

from emulator.pubsub.service import PubSubService
from emulator.server import Emulator
from subscriber.auth import Secret, Session, SessionProvider
from subscriber.channel import PubSubClient, open_channel
from subscriber.errors import RetryLater
from subscriber.oauth import JwtBearer, OAuthEndpoint

SESSION = Session("token-1", "https://x.my.salesforce.com", "00D000000000001AAA")


@pytest.fixture
def slow_emu(emulator_factory: Any, monkeypatch: pytest.MonkeyPatch
             ) -> Iterator[tuple[Emulator, HeldLogins]]:
    """An emulator whose every REST/OAuth request takes 25 s (cut short at teardown)."""
    emu: Emulator = emulator_factory(latency_ms=25_000.0)
    held = HeldLogins(emu)
    monkeypatch.setattr(emu.context.org, "pause", held.pause)
    yield emu, held
    held.release()


def test_intake_stops_at_once_while_its_jwt_login_is_blocked_in_http(
    harness_factory: HarnessFactory, slow_emu: tuple[Emulator, HeldLogins],
    caplog: pytest.LogCaptureFixture,
) -> None:
    emu, held = slow_emu
    info = emu.info()
    endpoint = OAuthEndpoint(info["login_url"], ca_file=Path(info["ca_cert"]), timeout_s=30)
    h = harness_factory(emu=emu)
    h.sessions = SessionProvider(JwtBearer(endpoint, info["client_id"], info["username"],
                                           Secret.from_file(info["private_key"])))
    h.start()
    assert held.arrived.wait(WAIT_S), "the token request never reached the emulator"
    h.stop()  # raises if the intake failed; asserts it returned within WAIT_S
    assert not held.finished.is_set(), "stop() waited for the login (25 s) to finish"
    assert "not waiting for" not in caplog.text  # no stream thread was left behind


class HeldResponses:
    """The emulator's Pub/Sub delay fault (``delay_s``), made observable: ``arrived`` is set
    when a call starts waiting it out, ``finished`` when one got through; :meth:`release`
    cuts every wait short (teardown)."""

    def __init__(self, emu: Emulator) -> None:
        self._faults = emu.context.pubsub_faults
        self.arrived = threading.Event()
        self.finished = threading.Event()
        self._released = threading.Event()

    def delay(self) -> None:
        """Stands in for ``PubSubService._delay``."""
        if self._faults.delay_s:
            self.arrived.set()
            self._released.wait(self._faults.delay_s)
            self.finished.set()

    def release(self) -> None:
        self._released.set()


@pytest.fixture
def delayed_pubsub(emulator_factory: Any, monkeypatch: pytest.MonkeyPatch
                   ) -> Iterator[tuple[Emulator, HeldResponses]]:
    """An emulator (TLS, real auth) whose every Pub/Sub response is delayed by 60 s."""
    emu: Emulator = emulator_factory()
    held = HeldResponses(emu)
    monkeypatch.setattr(PubSubService, "_delay", lambda _self: held.delay())
    emu.context.pubsub_faults.delay_s = 60.0
    yield emu, held
    held.release()


def _in_thread(call: Any) -> tuple[threading.Thread, list[BaseException]]:
    raised: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, raised


def test_closing_the_client_cancels_a_unary_call_in_flight(
    delayed_pubsub: tuple[Emulator, HeldResponses],
) -> None:
    emu, held = delayed_pubsub
    settings = intake_settings(emu)
    client = PubSubClient(open_channel(settings), SessionProvider(EmulatorTokens(emu)),
                          rpc_timeout_s=30)
    thread, raised = _in_thread(lambda: client.get_topic(TRIAL))
    assert held.arrived.wait(WAIT_S), "GetTopic never reached the emulator"
    client.close()
    thread.join(WAIT_S)
    assert not thread.is_alive(), "the call outlived close()"
    assert not held.finished.is_set(), "close() waited for the server's answer"
    assert len(raised) == 1
    assert isinstance(raised[0], RetryLater)
    assert "stopping" in str(raised[0])
    with pytest.raises(RetryLater, match="stopping"):  # and later calls end at once too
        client.get_topic(TRIAL)


class _BlockedSource:
    """A token source whose logins block until released; counts them."""

    def __init__(self) -> None:
        self.calls = 0
        self.arrived = threading.Event()
        self.released = threading.Event()

    def fetch(self) -> Session:
        self.calls += 1
        self.arrived.set()
        self.released.wait(60)
        return Session(f"token-{self.calls}", SESSION.instance_url, SESSION.org_id)


def test_a_cancelled_wait_ends_at_once_and_the_login_still_lands(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    source = _BlockedSource()
    provider = SessionProvider(source)
    cancel = threading.Event()
    first, first_raised = _in_thread(lambda: provider.current(cancel))
    assert source.arrived.wait(WAIT_S)
    results: list[str] = []
    others = [threading.Thread(target=lambda: results.append(provider.current().access_token))
              for _ in range(3)]
    for thread in others:
        thread.start()
    cancel.set()
    first.join(WAIT_S)
    assert not first.is_alive()  # ended while the login is still blocked (released below)
    assert isinstance(first_raised[0], RetryLater)
    source.released.set()
    for thread in others:
        thread.join(WAIT_S)
    assert results == ["token-1"] * 3, "waiters share the one login in flight"
    assert source.calls == 1
    assert provider.current().access_token == "token-1"


def test_a_refresh_wait_is_cancellable_and_stays_single_flight() -> None:
    source = _BlockedSource()
    source.released.set()
    provider = SessionProvider(source)
    stale = provider.current().access_token
    source.released.clear()
    source.arrived.clear()
    cancel = threading.Event()
    waiters = [_in_thread(lambda: provider.refresh(stale, cancel)) for _ in range(4)]
    assert source.arrived.wait(WAIT_S)
    cancel.set()
    for thread, raised in waiters:
        thread.join(WAIT_S)
        assert not thread.is_alive()
        assert isinstance(raised[0], RetryLater)
    late, late_raised = _in_thread(lambda: provider.refresh(stale))
    source.released.set()
    late.join(WAIT_S)
    assert not late_raised
    assert source.calls == 2, "one login for the first session, one refresh for everyone"
    assert provider.current().access_token == "token-2"
    assert provider.refresh_count == 1


class _SecondLoginBlocks:
    """Logs in through the emulator at once the first time; the refresh blocks until
    released (a token endpoint that hangs exactly when the session has expired)."""

    def __init__(self, emu: Emulator) -> None:
        self._tokens = EmulatorTokens(emu)
        self.refresh_arrived = threading.Event()
        self.released = threading.Event()

    def fetch(self) -> Session:
        if self._tokens.logins >= 1:
            self.refresh_arrived.set()
            self.released.wait(60)
        return self._tokens.fetch()


def test_intake_stops_at_once_while_a_session_refresh_is_blocked(
    harness_factory: HarnessFactory, caplog: pytest.LogCaptureFixture,
) -> None:
    """A stream waiting for the shared refresh after UNAUTHENTICATED still stops at once."""
    h = harness_factory(topics=(TRIAL,))
    source = _SecondLoginBlocks(h.emu)
    h.sessions = SessionProvider(source, backoff_initial_s=0.05, backoff_max_s=0.2)
    h.start()
    h.publish_trials(1)
    h.wait_count(TRIAL, 1)
    h.emu.context.tokens.expire_all()
    h.emu.context.pubsub_faults.abort_streams_on_expiry.set()
    try:
        assert source.refresh_arrived.wait(WAIT_S), "the stream never asked for a refresh"
        h.stop()  # asserts run() returned within WAIT_S, while the refresh is still held
        assert "not waiting for" not in caplog.text  # the stream thread ended too
    finally:
        source.released.set()
