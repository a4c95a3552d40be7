"""The first-run tests' own helpers keep their promises (a wrong port stays wrong)."""

from __future__ import annotations

import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fr_cli import refused_port
from helpers.ports import reserved_port


def test_refused_port_refuses_and_stays_taken_for_the_whole_block() -> None:
    with refused_port() as port:
        with socket.socket() as other, pytest.raises(OSError, match="in use"):
            other.bind(("127.0.0.1", port))  # was: released at once, free for anyone
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_a_reserved_port_is_free_only_for_the_daemons_http_server() -> None:
    with reserved_port() as port:
        with socket.socket() as other, pytest.raises(OSError, match="in use"):
            other.bind(("127.0.0.1", port))
        server = ThreadingHTTPServer(("127.0.0.1", port), BaseHTTPRequestHandler)
        assert server.server_port == port  # as the daemon's health server binds it
        server.server_close()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
