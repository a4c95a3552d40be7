"""Stopping never waits on the network: not for a login blocked in HTTP, not for a unary call
the server holds, not for somebody else's login. Single-flight refresh still holds."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest
from subscriber_harness import WAIT_S, HarnessFactory, HeldLogins

from emulator.server import Emulator
from proto import pubsub_api_pb2 as pb
from proto import pubsub_api_pb2_grpc as pb_grpc
from subscriber.auth import Secret, Session, SessionProvider, StaticToken
from subscriber.channel import PubSubClient
from subscriber.errors import RetryLater
from subscriber.oauth import JwtBearer, OAuthEndpoint

PROMPT_S = 2.0  # "at once": far below the 25 s login, the 30 s RPC timeout and the 5 s grace
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
    started = time.monotonic()
    h.stop()  # raises if the intake failed; asserts it returned within WAIT_S
    elapsed = time.monotonic() - started
    assert not held.finished.is_set(), "the login must still be in flight"
    assert elapsed < PROMPT_S, f"stop took {elapsed:.2f} s"
    assert "not waiting for" not in caplog.text  # no stream thread was left behind


class _HeldTopics(pb_grpc.PubSubServicer):  # type: ignore[misc]
    """GetTopic that holds every call until released."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.released = threading.Event()

    def GetTopic(self, request: pb.TopicRequest, context: grpc.ServicerContext) -> pb.TopicInfo:
        self.arrived.set()
        self.released.wait(60)
        return pb.TopicInfo(topic_name=request.topic_name, can_subscribe=True)


@pytest.fixture
def held_topics() -> Iterator[tuple[_HeldTopics, grpc.Channel]]:
    servicer = _HeldTopics()
    server = grpc.server(ThreadPoolExecutor(max_workers=4))
    pb_grpc.add_PubSubServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    yield servicer, channel
    servicer.released.set()
    channel.close()
    server.stop(0).wait(5)


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
    held_topics: tuple[_HeldTopics, grpc.Channel],
) -> None:
    servicer, channel = held_topics
    client = PubSubClient(channel, SessionProvider(StaticToken(SESSION)), rpc_timeout_s=30)
    thread, raised = _in_thread(lambda: client.get_topic("/event/X__e"))
    assert servicer.arrived.wait(WAIT_S), "GetTopic never reached the server"
    started = time.monotonic()
    client.close()
    thread.join(WAIT_S)
    assert not thread.is_alive()
    assert time.monotonic() - started < PROMPT_S
    assert len(raised) == 1
    assert isinstance(raised[0], RetryLater)
    assert "stopping" in str(raised[0])
    with pytest.raises(RetryLater, match="stopping"):  # and later calls end at once too
        client.get_topic("/event/X__e")


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
    started = time.monotonic()
    cancel.set()
    first.join(WAIT_S)
    assert not first.is_alive()
    assert time.monotonic() - started < PROMPT_S
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
