"""How long ago the oldest pending event was PUBLISHED: the sync SLA's figure.

``sla.publish_to_applied_s`` promises events applied within N seconds of being published,
so it is measured from the event's own time, which the inbox keeps: a platform event's
``CreatedDate`` (epoch ms in its payload) and a change event's ``commitTimestamp`` (its
header). Landing time (``received_at``) would hide a slow or reconnecting stream, and after
a restart it would hide every event the daemon was down for. An entry without either (none
expected) falls back to when it landed. Per topic, entries arrive in replay order, so the
first pending one is the oldest; that is one indexed row per topic per check. Salesforce's
clock and ours may differ by a little: a negative age counts as 0.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from service.shadow import WATERMARK_KEY
from subscriber.errors import SubscriberError
from subscriber.events import InboxEntry
from subscriber.inbox import Inbox


def published_at_s(entry: InboxEntry) -> float:
    """The entry's publish time (epoch s): commitTimestamp, CreatedDate, else landing."""
    if entry.change is not None and entry.change.commit_timestamp > 0:
        return entry.change.commit_timestamp / 1000
    created = (entry.payload or {}).get("CreatedDate")
    if isinstance(created, int | float) and not isinstance(created, bool) and created > 0:
        return float(created) / 1000
    return entry.received_at.timestamp()


def oldest_pending_publish_age_s(inbox_file: Path, topics: Sequence[str], shadow: bool,
                                 clock: Callable[[], float] = time.time) -> float | None:
    """Seconds since the oldest pending event was published (shadow: only the entries above
    the watermark, which live mode still owes); None when nothing is pending."""
    try:
        with Inbox.open_readonly(inbox_file) as inbox:
            after_id = int(inbox.meta(WATERMARK_KEY) or 0) if shadow else 0
            firsts = [e for topic in topics
                      for e in inbox.pending(limit=1, topic=topic, after_id=after_id)]
    except SubscriberError:
        return None
    if not firsts:
        return None
    return max(0.0, clock() - min(published_at_s(e) for e in firsts))
