"""A local stand-in for Sentry's ingest endpoint: the real SDK's HTTP transport posts its
envelopes here, and tests read every item it sent (events, check-ins), decoded."""

from __future__ import annotations

import gzip
import json
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Envelopes:
    """What the server received: raw bodies (decompressed) and parsed items."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.bodies: list[bytes] = []

    def add(self, body: bytes) -> None:
        with self.lock:
            self.bodies.append(body)

    def raw(self) -> bytes:
        with self.lock:
            return b"\n".join(self.bodies)

    def items(self, kind: str) -> list[dict[str, Any]]:
        """Every item of ``kind`` (``event``, ``check_in``) across all envelopes."""
        found: list[dict[str, Any]] = []
        with self.lock:
            bodies = list(self.bodies)
        for body in bodies:
            lines = body.split(b"\n")
            i = 1  # line 0 is the envelope header
            while i + 1 < len(lines):
                header = json.loads(lines[i]) if lines[i].strip() else {}
                payload = lines[i + 1]
                if header.get("type") == kind:
                    found.append(json.loads(payload))
                i += 2
        return found


def _decode(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding == "br":
        import brotli  # type: ignore[import-not-found,unused-ignore]  # only when the SDK used it

        return bytes(brotli.decompress(body))
    return body


@contextmanager
def sentry_server() -> Iterator[tuple[str, Envelopes]]:
    """Yield (dsn, envelopes) for an ingest endpoint on 127.0.0.1 (any free port)."""
    received = Envelopes()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            received.add(_decode(body, self.headers.get("Content-Encoding", "")))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://publickey@127.0.0.1:{server.server_port}/42", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
