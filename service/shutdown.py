"""Stopping the active's Salesforce writers before its lease may go.

On the PostgreSQL backend a clean stop releases the lease, and a standby then takes over at
once, without the takeover wait (nothing of ours is in flight, the release says). That is
only true once the apply workers and the scheduled jobs have finished: a request of theirs
still in flight could otherwise land after the new active's first write. So the stop joins
them within a budget and reports which are still running; the failover then does not release
the lease but lets it expire, so the standby waits the TTL plus the longest request
(:mod:`service.failover_run`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # APScheduler is imported once the intake runs (service.daemon_parts)
    from scheduler.registry import RealigningScheduler


def stop_writers(apply_thread: threading.Thread, workers: Sequence[threading.Thread],
                 jobs: RealigningScheduler, timeout_s: float) -> list[str]:
    """Wait, ``timeout_s`` in all, for the apply loop, its workers' cycles in flight and the
    jobs running (APScheduler's ``shutdown(wait=True)``, which has no timeout of its own, on
    a helper thread); the names of those still running."""
    deadline = time.monotonic() + timeout_s
    closer = None
    if jobs.running:
        closer = threading.Thread(target=jobs.shutdown, kwargs={"wait": True},
                                  name="jobs-shutdown", daemon=True)
        closer.start()
    waited = [apply_thread, *workers, *([closer] if closer is not None else [])]
    for thread in waited:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [("scheduled jobs" if thread is closer else thread.name)
            for thread in waited if thread.is_alive()]
