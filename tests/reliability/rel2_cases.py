"""Shared pieces of the part-B checker cases (``test_rel2_faults*``), on top of the part-A
harness (``rel_run.case_run``, ``rel_checker``) without changing it.

* :data:`SEED`, :data:`EVENTS`: one seed and a small workload for every part-B case, so the
  session computes one fault-free reference for all of them;
* :func:`after_batches`: an ``after_batch`` hook that runs a fault step after chosen batches;
* :func:`logins`: how many sessions the emulator has issued (re-authentication count);
* :func:`leaks`: email addresses, Salesforce session tokens and private keys found in a text.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Callable

from rel_harness import Cluster
from rel_params import FIRST_SEED, events

from subscriber.inbox_file import readonly_uri

SEED = FIRST_SEED
EVENTS = events(400, soak=2000)
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
SESSION_TOKEN = re.compile(r"\b00D[0-9A-Za-z]{12}![A-Za-z0-9_\-.]{20,}")
PRIVATE_KEY = re.compile(r"BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY")


def after_batches(steps: dict[int, Callable[[], object]]) -> Callable[[int], None]:
    """An ``after_batch`` hook running ``steps[i]()`` after publish batch ``i``."""
    def hook(batch: int) -> None:
        step = steps.get(batch)
        if step is not None:
            step()
    return hook


def logins(cluster: Cluster) -> int:
    """Sessions issued by the org's OAuth endpoint, minus the emulator's own start-up one."""
    path = cluster.work / "emulator" / "emulator.db"
    with contextlib.closing(sqlite3.connect(readonly_uri(path), uri=True)) as db:
        return int(db.execute("SELECT COUNT(*) FROM tokens").fetchone()[0]) - 1


def leaks(text: str) -> dict[str, list[str]]:
    """What must never be in a log line at INFO+ or a Sentry envelope, by kind."""
    found = {"email": EMAIL.findall(text), "session_token": SESSION_TOKEN.findall(text),
             "private_key": PRIVATE_KEY.findall(text)}
    return {kind: hits[:5] for kind, hits in found.items() if hits}


def loud_lines(log: str) -> str:
    """The log lines at INFO and above (text format: `` LEVEL logger: message``)."""
    return "\n".join(line for line in log.splitlines() if " DEBUG " not in line)
