"""reconcile-gaps: what can still be done about a replay gap (matrix R7: "EARLIEST plus a
reconciliation job").

When Salesforce refuses a topic's stored replay ID, the stream records a gap
(:mod:`subscriber.gaps`: the last good replay ID and when it was checkpointed, when it was
refused) and, under ``on_invalid_replay = "earliest"``, replays what the bus still keeps.
Events published between ``last_good_at`` and the oldest one still retained are gone: the
product's events were never in Salesforce, so no query can bring them back, and the daemon
cannot tell which Workspaces they were about. What this job can honestly do, per gap:

- flag for review (``Needs_Review__c``, with a ``Review_Reason__c`` naming the gap) every
  Workspace whose lifecycle could have moved on unseen: on the platform-event topic, those not
  churned whose newest applied event (``Last_Event_Time__c``) is older than the gap's start
  (one with a newer event got it from the replay, and last writer wins); on the Lead change
  topic, those not churned linked to a Lead changed since the gap began (a Lead change in the
  gap, such as a conversion by sales, was not seen). One already flagged keeps its earlier
  reason after the gap's. Not while the topic's replay is still being applied (it brings
  Workspaces up to date); a Workspace the update refuses is counted and reported, not retried;
- alert once per gap (one WARNING, returned in the run's summary, which ``status`` shows) and
  say what only the product can do: re-publish the gap's events (duplicates are dropped by
  EventUuid);
- mark the gap reconciled (inbox meta ``gaps-reconciled:<topic>``), so it is done once.

Salesforce calls are batched: one SOQL (at most :data:`BATCH` Workspaces, paged by Id) and
one sObject Collections update per run; a gap with more Workspaces is finished by the next
runs. No gap
open, no call at all, so the job is on by default.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable
from typing import Any, Protocol

from handlers.soql import datetime_literal, quote_literal
from scheduler.runner import Idle
from scheduler.sf_ops import JobsSalesforce
from subscriber.events import InboxEntry
from subscriber.gaps import MetaStore, gaps, reconciled, reconciled_key
from subscriber.settings import LEAD_CHANGE_TOPIC

log = logging.getLogger("lifecycle_sync.jobs")
BATCH = 200
REASON_PREFIX = "replay gap"
BEHIND_S = 60.0


class GapInbox(MetaStore, Protocol):
    def pending(self, limit: int = 100, topic: str | None = None,
                exclude: Iterable[int] = ()) -> list[InboxEntry]: ...


def reconcile_gaps(now: dt.datetime, sf: JobsSalesforce, inbox: GapInbox,
                   topics: tuple[str, ...]) -> str:
    """Work on the oldest gap not yet reconciled (one query, one update); see the module."""
    waiting = []
    for topic in topics:
        state = reconciled(inbox, topic)
        for gap in gaps(inbox, topic):
            if state.get(str(gap.get("refused_at")), {}).get("at"):
                continue
            if _behind(now, inbox, topic):
                waiting.append(topic)
                break
            return _reconcile(now, sf, inbox, topic, gap, state)
    if waiting:
        return Idle(f"replay gap on {', '.join(waiting)} waits: its replay is not applied yet")
    return Idle("no replay gap to reconcile")


def _behind(now: dt.datetime, inbox: GapInbox, topic: str) -> bool:
    """The topic's apply is behind (its oldest pending entry older than :data:`BEHIND_S`): the
    replay after a gap (EARLIEST) is still being applied, and each event it applies brings a
    Workspace up to date; flagging those now would send sales to check Workspaces that are
    fine. Live traffic applied as it comes is never that far behind."""
    oldest = inbox.pending(1, topic)
    return bool(oldest) and oldest[0].received_at < now - dt.timedelta(seconds=BEHIND_S)


def _reconcile(now: dt.datetime, sf: JobsSalesforce, inbox: MetaStore, topic: str,
               gap: dict[str, Any], state: dict[str, Any]) -> str:
    refused_at = str(gap["refused_at"])
    since = _parse(gap.get("last_good_at")) or _parse(refused_at) or now
    reason = (f"{REASON_PREFIX} on {topic} from {since:%Y-%m-%d %H:%M} UTC to "
              f"{refused_at[:16]}: events may be missing; check this Workspace in the product")
    entry = state.setdefault(refused_at, {"flagged": 0})
    rows = sf.query(_soql(topic, since, str(entry.get("after_id", ""))))
    failed = sf.update("Workspace__c", [
        {"Id": r["Id"], "Needs_Review__c": True,
         "Review_Reason__c": _with_reason(reason, r.get("Review_Reason__c"))}
        for r in rows]) if rows else {}
    # A record the update refused is final: counted and reported once, with the gap's
    # WARNING. Retrying it from the same place kept the gap open for good (a record locked
    # or invalid for good cost 2 calls a run, forever). A whole call that fails raises: the
    # state is not saved and the next run retries it.
    entry["flagged"] = int(entry.get("flagged", 0)) + len(rows) - len(failed)
    entry["refused"] = int(entry.get("refused", 0)) + len(failed)
    if rows:
        entry["after_id"] = str(rows[-1]["Id"])
    finished = len(rows) < BATCH  # else the next run goes on
    if finished:
        entry["at"] = now.isoformat()
    inbox.set_meta(reconciled_key(topic), json.dumps(state))
    if not finished:
        return f"{topic} gap refused at {refused_at}: {entry['flagged']} Workspace(s) flagged"
    todo = ("re-publish from the product the events published since "
            f"{since.isoformat()} (duplicates are dropped by EventUuid)"
            if topic != LEAD_CHANGE_TOPIC else "review the Leads changed since then")
    refused = (f"; {entry['refused']} Workspace(s) could not be flagged (the update refused "
               "them): review the gap's Workspaces by hand" if entry["refused"] else "")
    log.warning("replay gap on %s (refused at %s) reconciled as far as the daemon can: %d "
                "Workspace(s) flagged for review%s; still to do: %s", topic, refused_at,
                entry["flagged"], refused, todo)
    return (f"{topic} gap refused at {refused_at} reconciled: {entry['flagged']} "
            "Workspace(s) flagged for review")


def _soql(topic: str, since: dt.datetime, after_id: str) -> str:
    """The next Workspaces (by Id, after the last run's) a gap may have left stale."""
    if topic == LEAD_CHANGE_TOPIC:
        # A Lead changed since the gap began (LastModifiedDate moves with every change,
        # conversion included); a Lead untouched since cannot have a missed change.
        scope = f"Lead__c != null AND Lead__r.LastModifiedDate >= {datetime_literal(since)}"
    else:
        scope = f"(Last_Event_Time__c = null OR Last_Event_Time__c < {datetime_literal(since)})"
    if after_id:
        scope += f" AND Id > {quote_literal(after_id)}"
    # Only literals built by handlers.soql are interpolated.
    return ("SELECT Id, Review_Reason__c FROM Workspace__c "  # noqa: S608
            f"WHERE Self_Serve_Status__c != 'Churned' AND {scope} ORDER BY Id LIMIT {BATCH}")


def _with_reason(reason: str, earlier: object) -> str:
    """The gap's reason first, keeping a reason the Workspace was already flagged for."""
    if not isinstance(earlier, str) or not earlier or earlier.startswith(REASON_PREFIX):
        return reason[:255]
    return f"{reason}; {earlier}"[:255]


def _parse(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
