"""The OAuth flows against the emulator's token endpoint over TLS, and the intake running on
a JWT session that expires mid-stream."""

from __future__ import annotations

import http.server
import json
import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import certifi
import pytest
from subscriber_harness import TRIAL, HarnessFactory

from emulator.server import Emulator
from subscriber.auth import Secret, SessionProvider, TokenSource
from subscriber.errors import Fatal, RetryLater
from subscriber.oauth import (
    ClientCredentials,
    JwtBearer,
    OAuthEndpoint,
    UsernamePassword,
    _org_from_identity_url,
    default_audience,
)


@pytest.fixture
def emu(emulator_factory: Any) -> Emulator:
    emu: Emulator = emulator_factory()
    return emu


def _endpoint(info: dict[str, Any]) -> OAuthEndpoint:
    return OAuthEndpoint(info["login_url"], ca_file=Path(info["ca_cert"]), timeout_s=10)


def _jwt(info: dict[str, Any]) -> JwtBearer:
    return _jwt_on(_endpoint(info), info)


def _jwt_on(endpoint: OAuthEndpoint, info: dict[str, Any]) -> JwtBearer:
    return JwtBearer(endpoint, info["client_id"], info["username"],
                     Secret.from_file(info["private_key"]))


def test_each_flow_yields_a_working_session(emu: Emulator) -> None:
    info = emu.info()
    endpoint = _endpoint(info)
    sources: list[TokenSource] = [
        _jwt(info),
        ClientCredentials(endpoint, info["client_id"], Secret(info["client_secret"])),
        UsernamePassword(endpoint, info["client_id"], Secret(info["client_secret"]),
                         info["username"], Secret(info["password"])),
    ]
    for source in sources:
        session = source.fetch()
        assert session.org_id == info["tenant_id"]
        assert session.instance_url == info["instance_url"]
        live = emu.context.tokens.check(session.access_token)
        assert live is not None, "not a live session"
        assert live.user_id == emu.context.identity.integration_user_id
        assert info["client_secret"] not in repr(source)
        assert "PRIVATE" not in repr(source)


def test_org_id_from_userinfo(emu: Emulator) -> None:
    info = emu.info()
    endpoint = _endpoint(info)
    token = _jwt(info).fetch().access_token
    assert endpoint._userinfo_org(info["instance_url"], token) == info["tenant_id"]


def test_rejected_credentials_are_fatal_and_secret_free(emu: Emulator) -> None:
    info = emu.info()
    wrong = "definitely-not-the-secret"
    source = ClientCredentials(_endpoint(info), info["client_id"], Secret(wrong))
    with pytest.raises(Fatal, match="invalid_client") as raised:
        source.fetch()
    assert wrong not in str(raised.value)
    assert raised.value.error_code == "invalid_client"


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound (so nobody else can take it while the
    test runs) but never listening."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


def test_unreachable_endpoint_is_retry_later(refusing_port: int) -> None:
    endpoint = OAuthEndpoint(f"https://127.0.0.1:{refusing_port}", timeout_s=2)
    with pytest.raises(RetryLater, match="ConnectionError"):
        ClientCredentials(endpoint, "id", Secret("s")).fetch()


def test_login_verifies_tls_against_bundled_roots_when_no_ca_file_is_given(emu: Emulator
                                                                          ) -> None:
    """README: TLS is verified. The emulator's certificate is signed by its own CA, which the
    bundled roots do not hold: without a CA file the login must refuse the server."""
    info = emu.info()
    endpoint = OAuthEndpoint(info["login_url"], ca_file=None, timeout_s=10)
    with pytest.raises(RetryLater, match="SSLError"):
        ClientCredentials(endpoint, info["client_id"], Secret(info["client_secret"])).fetch()


def test_login_refuses_a_server_the_given_ca_did_not_sign(emu: Emulator) -> None:
    info = emu.info()
    endpoint = OAuthEndpoint(info["login_url"], ca_file=Path(certifi.where()), timeout_s=10)
    with pytest.raises(RetryLater, match="SSLError"):
        _jwt_on(endpoint, info).fetch()


def test_login_ignores_ca_bundle_and_proxy_variables_from_the_environment(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, refusing_port: int, tmp_path: Path,
) -> None:
    """requests reads REQUESTS_CA_BUNDLE, *_PROXY and ~/.netrc unless trust_env is off; the
    daemon's login must use exactly the CA it was configured with, and go direct."""
    info = emu.info()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", info["ca_cert"])
    monkeypatch.setenv("CURL_CA_BUNDLE", info["ca_cert"])
    no_ca = OAuthEndpoint(info["login_url"], ca_file=None, timeout_s=10)
    with pytest.raises(RetryLater, match="SSLError"):  # the bundle variable did not widen trust
        _jwt_on(no_ca, info).fetch()
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    proxy = f"http://127.0.0.1:{refusing_port}"
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, proxy)
    (tmp_path / ".netrc").write_text("machine 127.0.0.1 login intruder password nope\n")
    monkeypatch.setenv("NETRC", str(tmp_path / ".netrc"))
    session = _jwt(info).fetch()  # through the refusing proxy this would be a ConnectionError
    assert session.org_id == info["tenant_id"]


@pytest.mark.parametrize(
    ("login_url", "audience"),
    [
        ("https://login.salesforce.com", "https://login.salesforce.com"),
        ("https://acme.my.salesforce.com", "https://login.salesforce.com"),
        ("https://test.salesforce.com", "https://test.salesforce.com"),
        ("https://acme--uat.sandbox.my.salesforce.com", "https://test.salesforce.com"),
        ("https://127.0.0.1:8443/", "https://127.0.0.1:8443"),
    ],
)
def test_default_jwt_audience(login_url: str, audience: str) -> None:
    assert default_audience(login_url) == audience


def test_intake_on_jwt_survives_session_expiry(
    harness_factory: HarnessFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    h = harness_factory()
    h.sessions = SessionProvider(_jwt(h.emu.info()), backoff_initial_s=0.05)
    h.start()
    h.publish_trials(1)
    h.wait_count(TRIAL, 1)
    first = h.sessions.current().access_token
    h.emu.context.tokens.expire_all()
    h.emu.context.pubsub_faults.abort_streams_on_expiry.set()
    h.wait_for(lambda: h.sessions.refresh_count >= 1, "a refresh")
    h.publish_trials(1, start=1)
    h.wait_count(TRIAL, 2)
    h.stop()
    assert h.sessions.refresh_count == 1
    assert first not in caplog.text
    assert h.sessions.current().access_token not in caplog.text


class _UserinfoHandler(http.server.BaseHTTPRequestHandler):
    """Answers every request with the server's ``body``, recording what it was asked."""

    def do_GET(self) -> None:
        server: Any = self.server
        server.asked.append((self.command, self.path, self.headers.get("Authorization")))
        data = json.dumps(server.body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def userinfo_server() -> Iterator[Any]:
    """A plain-HTTP stand-in for ``/services/oauth2/userinfo``: the emulator always answers
    well, and this checks what the client does with an answer that lacks the org ID."""
    server: Any = http.server.HTTPServer(("127.0.0.1", 0), _UserinfoHandler)
    server.asked, server.body = [], {}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_org_id_from_userinfo_request_and_answers(userinfo_server: Any) -> None:
    base = f"http://127.0.0.1:{userinfo_server.server_port}"
    endpoint = OAuthEndpoint(base, timeout_s=10)
    userinfo_server.body = {"organization_id": "00D000000000001AAA"}
    assert endpoint._userinfo_org(base + "/", "tok-1") == "00D000000000001AAA"
    assert userinfo_server.asked == [("GET", "/services/oauth2/userinfo", "Bearer tok-1")]
    userinfo_server.body = {"user_id": "005x"}
    with pytest.raises(RetryLater) as lacking:
        endpoint._userinfo_org(base, "tok-1")
    assert str(lacking.value) == "userinfo response lacks organization_id"


@pytest.mark.parametrize(
    ("identity_url", "org_id"),
    [
        ("https://login.salesforce.com/id/00D5g000004ZabcEAA/0055g00000ABCDEAA2",
         "00D5g000004ZabcEAA"),
        ("https://x.my.salesforce.com/id/00D000000000001AAA/005000000000001AAA/",
         "00D000000000001AAA"),
        ("id/00D000000000001AAA/005000000000001AAA", "00D000000000001AAA"),  # 3 parts
        ("https://x/ID/00D000000000001AAA/005x", ""),      # the segment is "id", exactly
        ("https://x/org/00D000000000001AAA/005x", ""),     # not an identity URL
        ("https://x/id/001000000000001AAA/005x", ""),      # not an org ID
        ("00D000000000001AAA/005x", ""),                   # too short
        ("", ""),
    ],
)
def test_org_id_from_the_identity_url(identity_url: str, org_id: str) -> None:
    """The org ID is read from the token response's ``id`` URL; '' sends the login to
    ``/userinfo`` for it (one more HTTP call), so a parse that fails quietly costs a call."""
    assert _org_from_identity_url(identity_url) == org_id


def test_a_key_that_cannot_sign_is_fatal_naming_the_problem_not_the_key() -> None:
    endpoint = OAuthEndpoint("https://login.salesforce.com", timeout_s=1)
    source = JwtBearer(endpoint, "client", "user@example.com", Secret("not a PEM key"))
    with pytest.raises(Fatal) as refused:
        source.fetch()
    assert str(refused.value) == "cannot sign the JWT assertion: InvalidKeyError"
