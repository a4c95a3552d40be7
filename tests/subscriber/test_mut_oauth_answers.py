"""How a login reads the token endpoint's answer, against a real local HTTP server that gives
chosen answers: server errors are retried, refusals are fatal and say why, and a token answer
without the instance URL is not a session."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from subscriber.errors import Fatal, RetryLater
from subscriber.oauth import OAuthEndpoint

ORG = "00D000000000001AAA"


class _Answers:
    """``(status, body)`` per path; every request's path is recorded."""

    def __init__(self) -> None:
        self.by_path: dict[str, tuple[int, dict[str, Any]]] = {}
        self.paths: list[str] = []


@pytest.fixture
def server() -> Iterator[tuple[str, _Answers]]:
    answers = _Answers()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            answers.paths.append(self.path)
            status, body = answers.by_path.get(self.path, (404, {}))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", answers
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


TOKEN = "/services/oauth2/token"


def test_an_http_500_from_the_token_endpoint_is_retried_not_fatal(
        server: tuple[str, _Answers]) -> None:
    url, answers = server
    answers.by_path[TOKEN] = (500, {"error": "server_error"})
    with pytest.raises(RetryLater, match="HTTP 500"):
        OAuthEndpoint(url, timeout_s=10).login({"grant_type": "password"})


def test_a_refusal_names_the_error_and_has_no_placeholder_for_a_missing_description(
        server: tuple[str, _Answers]) -> None:
    url, answers = server
    answers.by_path[TOKEN] = (400, {"error": "invalid_grant"})
    with pytest.raises(Fatal) as raised:
        OAuthEndpoint(url, timeout_s=10).login({"grant_type": "password"})
    assert raised.value.error_code == "invalid_grant"
    assert str(raised.value).endswith("HTTP 400 invalid_grant: ")


def test_a_token_answer_without_an_instance_url_is_not_a_session(
        server: tuple[str, _Answers]) -> None:
    url, answers = server
    answers.by_path[TOKEN] = (200, {"access_token": "t0k3n"})
    with pytest.raises(RetryLater, match="instance_url"):
        OAuthEndpoint(url, timeout_s=10).login({"grant_type": "password"})


def test_without_an_identity_url_the_org_comes_from_userinfo_at_the_instance(
        server: tuple[str, _Answers]) -> None:
    url, answers = server
    answers.by_path[TOKEN] = (200, {"access_token": "t0k3n", "instance_url": url + "/"})
    answers.by_path["/services/oauth2/userinfo"] = (200, {"organization_id": ORG})
    session = OAuthEndpoint(url, timeout_s=10).login({"grant_type": "password"})
    assert session.org_id == ORG
    assert session.instance_url == url
    assert answers.paths == [TOKEN, "/services/oauth2/userinfo"]


def test_an_identity_url_in_the_token_answer_names_the_org_without_asking_userinfo(
        server: tuple[str, _Answers]) -> None:
    url, answers = server
    answers.by_path[TOKEN] = (200, {"access_token": "t0k3n", "instance_url": url,
                                    "id": f"https://login.salesforce.com/id/{ORG}/005xx0000012Q"})
    session = OAuthEndpoint(url, timeout_s=10).login({"grant_type": "password"})
    assert session.org_id == ORG
    assert answers.paths == [TOKEN]
