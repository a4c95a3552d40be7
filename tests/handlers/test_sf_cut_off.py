"""A response cut off mid-body, or a body its Content-Encoding cannot decode, is a transient
failure (retried, then the cycle is retried), never an unmapped exception: the apply worker
stops the daemon (exit 1) on anything it does not know. A tiny local HTTP server sends the
broken answers; the client is the real one, over a real socket."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from handlers.errors import TransientError
from handlers.sf_client import ClientSettings, SalesforceClient
from subscriber.auth import Session, SessionProvider, StaticToken

ANSWERS = {
    # promises 1,000 bytes, sends 13 and closes: requests' ChunkedEncodingError
    "/cut": ({"Content-Length": "1000"}, b'{"records": ['),
    # says gzip, is not: requests' ContentDecodingError
    "/garbled": ({"Content-Length": "12", "Content-Encoding": "gzip"}, b"not gzip at all"[:12]),
}


class _Broken(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        path = self.path.rsplit("/", 1)[-1]
        self.hits.append(path)
        headers, body = ANSWERS["/" + path]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def broken_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Broken)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.mark.parametrize("path", ["cut", "garbled"])
def test_a_cut_off_or_undecodable_answer_is_transient(broken_url: str, path: str) -> None:
    _Broken.hits = []
    sessions = SessionProvider(StaticToken(Session("token", broken_url, "tenant")))
    client = SalesforceClient(sessions, ClientSettings(attempts=2, backoff_max_s=0.01))
    try:
        with pytest.raises(TransientError) as raised:
            client.rest("GET", path, idempotent=True)
    finally:
        client.close()
    assert "talking to Salesforce" in str(raised.value)
    assert _Broken.hits == [path, path], "retried as any transient failure is"
