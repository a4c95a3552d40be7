"""Replay gaps in ``lifecycle-sync status``: the refusals recorded, and what to reconcile.

Why: :func:`subscriber.stream` records a gap each time Salesforce refuses a topic's stored
replay ID (``subscriber.gaps``). With ``on_invalid_replay = "earliest"`` the daemon goes on by
itself, so the one fatal Sentry issue is easy to miss; the gap record is what tells an
operator, for as long as it is kept, that events from ``last_good_at`` on may be missing and
how to get them back. Nothing else reads it, so status shows it.
"""

from __future__ import annotations

from typing import Any

from subscriber.gaps import MetaReader, gaps, reconciled
from subscriber.settings import LEAD_CHANGE_TOPIC


def topic_gaps(store: MetaReader, topic: str) -> list[dict[str, Any]]:
    """The topic's gap records (oldest first), each with the ``reconcile`` step it needs and
    what the reconcile-gaps job did about it (``reconciled``: None until it ran)."""
    done = reconciled(store, topic)
    return [{**g, "reconcile": reconcile_hint(topic, g),
             "reconciled": done.get(str(g.get("refused_at")))} for g in gaps(store, topic)]


def reconcile_hint(topic: str, gap: dict[str, Any]) -> str:
    """What the operator does about one gap (README, "Replay gaps")."""
    since = gap.get("last_good_at") or "the topic's first event"
    if topic == LEAD_CHANGE_TOPIC:
        todo = (f"Lead changes since {since} older than Salesforce's retention were not seen: "
                f"check the Leads whose LastModifiedDate is on or after {since} (their "
                "Workspaces' Lead links and conversions)")
    elif topic.startswith("/data/"):
        todo = (f"changes since {since} older than Salesforce's retention were not seen: "
                "reconcile the object's records modified since then")
    else:
        todo = (f"events published since {since} older than Salesforce's retention were not "
                "received: re-publish them from the product (duplicates are dropped by "
                "EventUuid)")
    if gap.get("policy") == "fail":
        return (f"the daemon stopped (on_invalid_replay = fail): run `lifecycle-sync replay "
                f"--topic {topic} --from earliest` (what Salesforce still keeps is replayed) "
                f"or `--from latest`, then: {todo}")
    return todo


def gap_lines(topic_report: dict[str, Any]) -> list[str]:
    """Text lines for one topic's gaps (none when it has none)."""
    lines = []
    for g in topic_report.get("gaps") or []:
        lines.append(f"  GAP: replay ID refused at {g.get('refused_at')} "
                     f"({g.get('error_code')}); last good {g.get('last_good_replay_id') or '-'}"
                     f" at {g.get('last_good_at') or '-'}; policy {g.get('policy')}")
        done = g.get("reconciled") or {}
        if done.get("at"):
            lines.append(f"    reconcile-gaps job: {done.get('flagged', 0)} Workspace(s) flagged "
                         f"for review at {done['at']}")
        lines.append(f"    to do: {g['reconcile']}")
    return lines
