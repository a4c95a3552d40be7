"""Loopback ports for tests, held for as long as the test needs them: a port picked free and
then released can be taken by any other process (another test's server, a client's
ephemeral port) before the daemon binds it."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator


@contextlib.contextmanager
def refused_port() -> Iterator[int]:
    """A loopback port that refuses connections for as long as the block runs: bound by
    this socket (so no other process can take it and start answering) but not listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


@contextlib.contextmanager
def reserved_port() -> Iterator[int]:
    """A loopback port only a server with ``SO_REUSEADDR`` can bind while the block runs (the
    daemon's ``http.server``-based health server sets it, like every ``HTTPServer``).

    Linux lets a socket bind an address another socket holds when both set ``SO_REUSEADDR``
    and neither listens; a plain ``bind`` and the kernel's ephemeral-port choice skip it. So
    the port stays the test's from the pick until the daemon listens on it, with no window in
    between, and refuses connections again after the daemon has gone."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])
