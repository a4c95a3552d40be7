"""The usage figures an alert Task quotes: from the local inbox, else from parked rows.

The local inbox keeps applied events for ``inbox.retention_days`` (7 by default), so by a
1-day alert a long trial's last event may be gone. Salesforce keeps no usage figures on the
Workspace (``Trial_History__c`` records lifecycle details only), so the fallback is the
``Event_Data__c`` of the Workspace's ``Event_Cache__c`` rows (parked events, kept 30 days
when Completed): one query for all the Workspaces the inbox no longer knows. A Workspace
neither knows gets "none reported" in its Task (README, "Trial alerts").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from handlers.soql import quote_literal
from scheduler import local_inbox
from scheduler.job_inbox import InboxPlace
from scheduler.sf_ops import JobsSalesforce

PARKED_SELECT = "SELECT Workspace_ID__c, Original_Timestamp__c, Event_Data__c FROM Event_Cache__c"
UsageLookup = Callable[[Iterable[str]], dict[str, dict[str, float]]]


def usage_lookup(inbox_file: InboxPlace, sf: JobsSalesforce) -> UsageLookup:
    """Figures by lower-case Workspace ID: the inbox first, parked rows for the rest."""
    def lookup(ids: Iterable[str]) -> dict[str, dict[str, float]]:
        wanted = sorted({i.lower() for i in ids})
        found = {k: v for k, v in local_inbox.latest_usage(inbox_file, wanted).items() if v}
        missing = [w for w in wanted if w not in found]
        if missing:
            found.update(parked_usage(sf, missing))
        return found
    return lookup


def parked_usage(sf: JobsSalesforce, workspace_ids: list[str]) -> dict[str, dict[str, float]]:
    """The figures of each Workspace's latest parked event that carries any."""
    literals = ", ".join(quote_literal(w) for w in workspace_ids)
    where = f"Workspace_ID__c IN ({literals}) ORDER BY Original_Timestamp__c ASC"
    rows = sf.query(f"{PARKED_SELECT} WHERE {where}")  # values escaped by quote_literal
    out: dict[str, dict[str, float]] = {}
    for row in rows:  # oldest first: a later row with figures replaces an earlier one
        figures = local_inbox.figures(row.get("Event_Data__c"))
        if figures:
            out[str(row.get("Workspace_ID__c")).lower()] = figures
    return out
