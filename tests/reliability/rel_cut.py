"""A TCP forwarder in front of PostgreSQL that cuts one node off (F3 in test_rel_failover):
by closing its connections, or as a black hole that forwards nothing and closes nothing."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable


class CutProxy:
    """A TCP forwarder to PostgreSQL that can cut its node off (and let it back).

    :meth:`cut` closes every connection (the node sees errors at once); ``cut(drop=True)`` is a
    black hole: connections, open or new, stay accepted and acknowledged while nothing is
    forwarded either way (a stuck middlebox, a half-dead path), which no TCP timeout notices:
    only the lease keeper's own deadline steps the node down in time."""

    def __init__(self, port: int) -> None:
        self._target = ("127.0.0.1", port)
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._server.getsockname()[1])
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.is_cut = False
        self.dropping = False
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def dsn(self, dsn: str, real_port: int) -> str:
        return dsn.replace(f"port={real_port}", f"port={self.port}")

    def cut(self, drop: bool = False) -> None:
        with self._lock:
            if drop:
                self.dropping = True
                return
            self.is_cut = True
            for s in self._open:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self._open.clear()

    def restore(self) -> None:
        """Forward again; connections black-holed meanwhile lost bytes, so they are closed."""
        if self.dropping:
            self.cut()
            self.dropping = False
        self.is_cut = False

    def close(self) -> None:
        self._closed = True
        self.cut()
        self._server.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if self.is_cut:
                client.close()
                continue
            if self.dropping:
                with self._lock:
                    self._open.add(client)  # held: the client waits for an answer forever
                continue
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        """One direction; while dropping, bytes are read (so acknowledged) and thrown away."""
        _pump(src, dst, lambda: self.dropping)


def _pump(src: socket.socket, dst: socket.socket, dropping: Callable[[], bool]) -> None:
    with contextlib.suppress(OSError):
        while data := src.recv(65536):
            if not dropping():
                dst.sendall(data)
    for s in (src, dst):
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_RDWR)
