"""The first-run tests' own helpers keep their promises (a wrong port stays wrong)."""

from __future__ import annotations

import socket

import pytest
from fr_cli import refused_port


def test_refused_port_refuses_and_stays_taken_for_the_whole_block() -> None:
    with refused_port() as port:
        with socket.socket() as other, pytest.raises(OSError, match="in use"):
            other.bind(("127.0.0.1", port))  # was: released at once, free for anyone
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
