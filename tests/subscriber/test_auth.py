"""Sessions: safe reprs, single-flight refresh, backoff when logins fail, static tokens."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from subscriber.auth import Secret, Session, SessionProvider, StaticToken
from subscriber.errors import Fatal, RetryLater

TOKEN = "00D000000000001!SECRET-TOKEN-VALUE"


class CountingSource:
    """Issues token-1, token-2, ... slowly enough that concurrent refreshes overlap."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.calls = 0
        self.gate = gate
        self.fail_with: Exception | None = None

    def fetch(self) -> Session:
        self.calls += 1
        if self.gate is not None:
            self.gate.wait(5)
        if self.fail_with is not None:
            raise self.fail_with
        return Session(f"token-{self.calls}", "https://x.my.salesforce.com", "00D000000000001AAA")


def test_reprs_hide_secrets(tmp_path: Path) -> None:
    session = Session(TOKEN, "https://x", "00D000000000001AAA")
    secret = Secret("hunter2")
    provider = SessionProvider(StaticToken(session))
    provider.current()
    for text in (repr(session), str(session), repr(secret), str(secret), repr(provider),
                 repr(StaticToken(session)), f"{secret}"):
        assert TOKEN not in text
        assert "hunter2" not in text
    assert repr(secret) == str(secret) == "Secret('********')"
    assert repr(provider).startswith("SessionProvider(source=StaticToken, session=")
    (tmp_path / "key").write_text("s3cret\n")
    assert Secret.from_file(tmp_path / "key").reveal() == "s3cret"
    with pytest.raises(Fatal, match="cannot read secret file"):
        Secret.from_file(tmp_path / "missing")


def test_secret_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LS_TEST_SECRET", "abc")
    assert Secret.from_env("LS_TEST_SECRET").reveal() == "abc"
    monkeypatch.delenv("LS_TEST_SECRET")
    with pytest.raises(Fatal, match="LS_TEST_SECRET"):
        Secret.from_env("LS_TEST_SECRET")


def test_many_refreshes_with_one_stale_token_fetch_once() -> None:
    gate = threading.Event()
    source = CountingSource()
    provider = SessionProvider(source)
    stale = provider.current().access_token
    source.gate = gate
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(provider.refresh(stale).access_token))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(5)
    assert results == ["token-2"] * 8
    assert source.calls == 2
    assert provider.refresh_count == 1


def test_failed_logins_back_off() -> None:
    now = [0.0]
    source = CountingSource()
    provider = SessionProvider(source, backoff_initial_s=1.0, backoff_max_s=4.0,
                               clock=lambda: now[0])
    stale = provider.current().access_token
    source.fail_with = RetryLater("token endpoint: HTTP 503")
    with pytest.raises(RetryLater, match="503"):
        provider.refresh(stale)
    with pytest.raises(RetryLater, match=r"next attempt in 1\.0s"):
        provider.refresh(stale)
    assert source.calls == 2, "no login during the backoff"
    now[0] = 1.0
    with pytest.raises(RetryLater, match="503"):
        provider.refresh(stale)
    with pytest.raises(RetryLater, match=r"next attempt in 2\.0s"):
        provider.refresh(stale)
    now[0] = 3.0
    source.fail_with = None
    assert provider.refresh(stale).access_token == "token-4"


def test_a_rejected_static_token_is_fatal() -> None:
    provider = SessionProvider(StaticToken(Session(TOKEN, "https://x", "00D000000000001AAA")))
    with pytest.raises(Fatal) as info:
        provider.refresh(provider.current().access_token)
    assert str(info.value) == (
        "the session was rejected and the token source cannot issue a new one (StaticToken); "
        "configure an OAuth flow or a fresh token")
