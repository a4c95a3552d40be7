"""Small mechanisms the stream is built from: request credit, the request queue, the
watchdog and the reconnect backoff. Each is independent of gRPC and testable alone."""

from __future__ import annotations

import queue
import random
import threading
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")


class Credit:
    """How many events we have asked for and not yet received (never more than ``batch``).

    We ask for more as soon as half the credit is used, so the server always has something to
    send and the 60-second "ask again" rule is never close. ``pending_num_requested`` from the
    server resynchronises the count on keepalives (no request of ours can be in transit then,
    as requests only follow event responses); after event responses our own count is used, as
    the server's may not yet include a request still in transit.
    """

    def __init__(self, batch: int) -> None:
        self.batch = batch
        self.outstanding = 0
        self.stopped = False  # stopping: ask for nothing more, count what still arrives

    def initial(self) -> int:
        self.outstanding = self.batch
        return self.batch

    def after_events(self, received: int) -> int:
        """Events arrived; how many more to request now (0: none)."""
        self.outstanding = max(0, self.outstanding - received)
        return self._top_up()

    def after_keepalive(self, server_pending: int) -> int:
        self.outstanding = min(self.outstanding, max(0, server_pending))
        return self._top_up()

    def _top_up(self) -> int:
        if self.stopped or self.outstanding > self.batch // 2:
            return 0
        more = self.batch - self.outstanding
        self.outstanding = self.batch
        return more


class RequestQueue(Generic[T]):
    """The request side of a streaming call: iterate it in gRPC, feed it with :meth:`put`.

    ``on_first_sent`` runs once, when gRPC asks for the second request: it does so only after
    the first went out on a connected transport (a call that cannot connect fails instead),
    so it marks the stream as open before the server has answered anything.
    """

    def __init__(self, first: T, on_first_sent: Callable[[], None] | None = None) -> None:
        self._queue: queue.SimpleQueue[T | None] = queue.SimpleQueue()
        self._queue.put(first)
        self._on_first_sent = on_first_sent

    def put(self, item: T) -> None:
        self._queue.put(item)

    def close(self) -> None:
        """End the iteration (half-closes the request stream)."""
        self._queue.put(None)

    def __iter__(self) -> Iterator[T]:
        first = True
        while (item := self._queue.get()) is not None:
            yield item
            if first and self._on_first_sent is not None:
                self._on_first_sent()
            first = False


class Watchdog:
    """Calls ``on_expire`` once if :meth:`touch` is not called for ``timeout_s``."""

    def __init__(self, timeout_s: float, on_expire: Callable[[], object]) -> None:
        self.timeout_s = timeout_s
        self._on_expire = on_expire
        self._cond = threading.Condition()
        self._deadline = time.monotonic() + timeout_s
        self._stopped = False
        self.expired = False

    def __enter__(self) -> Watchdog:
        threading.Thread(target=self._run, name="intake-watchdog", daemon=True).start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def touch(self) -> None:
        with self._cond:
            self._deadline = time.monotonic() + self.timeout_s

    def _run(self) -> None:
        with self._cond:
            while not self._stopped:
                remaining = self._deadline - time.monotonic()
                if remaining <= 0:
                    self.expired = True
                    break
                self._cond.wait(remaining)
        if self.expired:
            self._on_expire()


class Backoff:
    """Capped exponential backoff with jitter (each delay in [base/2, base]); reset on progress."""

    def __init__(
        self, initial_s: float, max_s: float, rand: Callable[[], float] = random.random
    ) -> None:
        self._initial_s = initial_s
        self._max_s = max_s
        self._rand = rand
        self._failures = 0

    def next_delay(self) -> float:
        base = min(self._max_s, self._initial_s * 2 ** min(self._failures, 32))
        self._failures += 1
        return float(base / 2 + self._rand() * base / 2)

    def reset(self) -> None:
        self._failures = 0
