"""A loopback TCP relay in front of the gRPC server, so tests can cut connections for real.

gRPC servers offer no way to drop one client's TCP connection. Clients connect to this relay
instead; :meth:`TcpRelay.cut` closes every relayed connection at once, which the client sees as
a broken transport (``UNAVAILABLE``), exactly like a network failure. Bytes pass through
unchanged (TLS is end to end between client and gRPC server).
"""

from __future__ import annotations

import contextlib
import socket
import threading

_CHUNK = 64 * 1024


class TcpRelay:
    """Accepts on ``host:port`` and relays each connection to ``target_port`` on loopback."""

    def __init__(self, host: str, port: int, target_port: int) -> None:
        self._target = ("127.0.0.1", target_port)
        self._listener = socket.create_server((host, port))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._closed = False

    def start(self) -> None:
        threading.Thread(target=self._accept_loop, name="relay-accept", daemon=True).start()

    def cut(self) -> int:
        """Close every relayed connection now; returns how many were cut."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for a, b in pairs:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
        return len(pairs)

    def close(self) -> None:
        """Stop accepting and cut every connection.

        Closing a listening socket does not wake a thread blocked in ``accept()`` on Linux
        (the port would keep accepting), so shut it down first.
        """
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self.cut()

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._closed:
                client.close()
                return
            self._relay(client)

    def _relay(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self._target)
        except OSError:
            client.close()
            return
        try:
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # the client already went away
            client.close()
            upstream.close()
            return
        with self._lock:
            self._pairs.append((client, upstream))
        for src, dst in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(_CHUNK):
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            self._forget(src, dst)

    def _forget(self, a: socket.socket, b: socket.socket) -> None:
        """One direction ended: end the whole connection, as a real network failure does."""
        with self._lock:
            self._pairs = [p for p in self._pairs if a not in p and b not in p]
        for s in (a, b):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
