"""Shadow mode's scheduled job: trial-alerts decides every Task it would create, writes none.

Shadow mode reads and decides everything (issue 9), and the expiration alerts are decisions
a pilot wants to see. So in shadow mode the daemon schedules trial-alerts (only: retry-parked
and retention act on rows shadow never wrote) over :class:`ShadowJobsSalesforce`: its reads
go to Salesforce as in live, and each write of its Composite (a Task, the Workspace's record
of it) becomes one ``shadow: would <op> <object>`` line and one count of
``lifecycle_sync_shadow_intended_writes``, like :class:`service.shadow.ShadowGateway`'s:
Workspace ID and field names, never values (a Task's text names the customer). The run is
recorded in ``STATE/shadow-jobs.db``, not ``jobs.db``, so switching to live the same day does
not skip that day's real alerts.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence

from handlers.sf_client import SalesforceClient
from scheduler.runner import JobFunc
from scheduler.sf_ops import JobsSalesforce, Record

log = logging.getLogger("lifecycle_sync.shadow")
SHADOW_JOBS_FILE = "shadow-jobs.db"
Count = Callable[[str, str], None]  # (operation, object), as ShadowGateway's


class ShadowJobsSalesforce(JobsSalesforce):
    """Reads through; every write logged and counted, answered as Salesforce would."""

    def __init__(self, client: SalesforceClient, count: Count) -> None:
        super().__init__(client)
        self._count = count

    def composite(self, subrequests: list[Record], *, all_or_none: bool) -> list[Record]:
        del all_or_none
        answers = []
        for sub in subrequests:
            creating = sub.get("method") == "POST"
            op, obj = ("create" if creating else "update"), _sobject(str(sub.get("url")))
            body = sub.get("body") or {}
            key = str(body.get("WhatId") if creating else str(sub.get("url")).rsplit("/", 1)[-1])
            self._count(op, obj)
            log.info("shadow: would %s %s key=%s fields=%s", op, obj, key,
                     ",".join(sorted(body)))
            answers.append({"referenceId": sub.get("referenceId"), "body": None,
                            "httpStatusCode": 201 if creating else 204})
        return answers

    def upsert(self, sobject: str, external_id: str, records: Sequence[Record]
               ) -> dict[str, str]:
        raise NotImplementedError("shadow jobs write nothing")

    def update(self, sobject: str, records: Sequence[Record]) -> dict[str, str]:
        raise NotImplementedError("shadow jobs write nothing")

    def delete(self, ids: Sequence[str]) -> dict[str, str]:
        raise NotImplementedError("shadow jobs write nothing")


def _sobject(url: str) -> str:
    return url.split("/sobjects/", 1)[-1].split("/", 1)[0]


def shadowed(job: JobFunc) -> JobFunc:
    """``job``, its summary saying that nothing was written ("N alert(s) sent" is what the
    job counts; in shadow mode those were decided, not sent)."""

    def run(now: dt.datetime) -> str:
        return "shadow, nothing written: " + job(now).replace(" sent", " decided")

    return run


