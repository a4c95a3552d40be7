"""A TCP proxy in front of PostgreSQL that can turn into a black hole: every connection, open
or new, stays accepted and acknowledged while nothing is forwarded either way, as behind a
stuck middlebox or a half-dead network path. No TCP timeout notices that (the proxy
acknowledges everything), so only the lease keeper's own deadline can step down in time.
(tests/reliability/rel_cut.py's CutProxy does the same for the reliability checker's F3.)"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading


class BlackHoleProxy:
    """Forwards 127.0.0.1:``port`` to ``upstream`` until :meth:`black_hole`. ``down``: until
    :meth:`bring_up`, every connection is closed at once (a database not up yet)."""

    def __init__(self, upstream: tuple[str, int], down: bool = False) -> None:
        self._upstream = upstream
        self._down = threading.Event()
        if down:
            self._down.set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._holes = threading.Event()
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = [self._listener]
        self._lock = threading.Lock()
        self.accepted = 0  # connections tried, whatever became of them
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()

    def bring_up(self) -> None:
        self._down.clear()

    def black_hole(self) -> None:
        self._holes.set()

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.close()

    def _keep(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.accepted += 1
            if self._down.is_set():
                client.close()
                continue
            self._keep(client)
            if self._holes.is_set():
                continue  # accepted and held: the client waits for an answer forever
            server = socket.create_connection(self._upstream)
            self._keep(server)
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        """Both directions; once black-holed, bytes are read (acknowledged) and dropped."""
        peers = {client: server, server: client}
        with selectors.DefaultSelector() as sel:
            for sock in peers:
                sel.register(sock, selectors.EVENT_READ)
            while not self._closed.is_set():
                for key, _ in sel.select(0.2):
                    src: socket.socket = key.fileobj  # type: ignore[assignment]
                    try:
                        data = src.recv(65536)
                    except OSError:
                        return
                    if not data:
                        return
                    if not self._holes.is_set():
                        with contextlib.suppress(OSError):
                            peers[src].sendall(data)
