"""The daily API request allocation: counting, the ``Sforce-Limit-Info`` header and ``/limits``.

Salesforce counts every REST and SOAP call (a Composite or sObject Collections request is one
call) over a rolling 24 hours, reports the running total on every response as
``Sforce-Limit-Info: api-usage=N/M``, and refuses calls with 403 REQUEST_LIMIT_EXCEEDED once
the allocation is spent. Counts live in memory in one-minute buckets; a restart starts afresh.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

WINDOW_S = 24 * 3600
BUCKET_S = 60
LIMIT_MESSAGE = "TotalRequests Limit exceeded."


class ApiUsage:
    """Calls made in the last 24 hours against a configurable daily limit."""

    def __init__(self, daily_limit: int) -> None:
        self.daily_limit = daily_limit
        self._lock = threading.Lock()
        self._buckets: deque[tuple[int, int]] = deque()

    def try_consume(self) -> bool:
        """Count one call; False (and nothing counted) when the allocation is already spent."""
        with self._lock:
            self._expire()
            if self._used() >= self.daily_limit:
                return False
            minute = int(time.time()) // BUCKET_S
            if self._buckets and self._buckets[-1][0] == minute:
                self._buckets[-1] = (minute, self._buckets[-1][1] + 1)
            else:
                self._buckets.append((minute, 1))
            return True

    def used(self) -> int:
        with self._lock:
            self._expire()
            return self._used()

    def header(self) -> str:
        """The ``Sforce-Limit-Info`` value."""
        return f"api-usage={self.used()}/{self.daily_limit}"

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()

    def _used(self) -> int:
        return sum(n for _, n in self._buckets)

    def _expire(self) -> None:
        oldest = (int(time.time()) - WINDOW_S) // BUCKET_S
        while self._buckets and self._buckets[0][0] <= oldest:
            self._buckets.popleft()


def limits_body(usage: ApiUsage) -> dict[str, Any]:
    """The ``/limits`` resource: ``{Name: {Max, Remaining}}`` for the limits clients look at."""
    used = usage.used()
    fixed = {
        "ConcurrentAsyncGetReportInstances": 200,
        "ConcurrentSyncReportRuns": 20,
        "DailyAsyncApexExecutions": 250000,
        "DailyBulkApiBatches": 15000,
        "DailyBulkV2QueryFileStorageMB": 976562,
        "DailyBulkV2QueryJobs": 10000,
        "DailyDeliveredPlatformEvents": 50000,
        "DailyStreamingApiEvents": 1000000,
        "DataStorageMB": 1024,
        "FileStorageMB": 1024,
        "HourlyPublishedPlatformEvents": 250000,
        "HourlyPublishedStandardVolumePlatformEvents": 100000,
        "MonthlyPlatformEventsUsageEntitlement": 3000000,
        "SingleEmail": 5000,
    }
    body: dict[str, Any] = {
        "DailyApiRequests": {
            "Max": usage.daily_limit, "Remaining": max(0, usage.daily_limit - used)
        }
    }
    body.update({name: {"Max": n, "Remaining": n} for name, n in fixed.items()})
    return dict(sorted(body.items()))
