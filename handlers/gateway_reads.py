"""The lookup half of the gateway: one Composite of SOQL queries → a :class:`Snapshot`.

Each key list becomes a ``WHERE … IN (…)`` statement (split when the documented statement or
URI limits require it); the statements travel as query subrequests of Composite requests, at
most five per Composite (Salesforce's cap on query/Collections subrequests), so a typical cycle
reads everything it needs in one API call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from handlers import soql
from handlers.limits import COMPOSITE_MAX_QUERY_OR_COLLECTIONS
from handlers.lookup import LookupRequest
from handlers.snapshot import (
    LEAD_FIELDS,
    WORKSPACE_FIELDS,
    AccountRow,
    ContactRow,
    LeadRow,
    Snapshot,
    WorkspaceRow,
)

LEAD_RELATION = tuple(f"Lead__r.{f}" for f in LEAD_FIELDS if f != "Id")
STATUS_QUERY = ("SELECT MasterLabel FROM LeadStatus WHERE IsConverted = true "
                "ORDER BY SortOrder LIMIT 1")


def statements(api_path: str, request: LookupRequest, need_status: bool
               ) -> list[tuple[str, str]]:
    """(kind, SOQL) pairs covering ``request``; kinds: ws, lead, account, contact, status."""
    out: list[tuple[str, str]] = []

    def add(kind: str, select: str, *conditions: soql.Condition) -> None:
        out.extend((kind, q) for q in soql.in_queries(api_path, select, conditions))

    add("ws", soql.select_from(WORKSPACE_FIELDS + LEAD_RELATION, "Workspace__c"),
        soql.Condition("Workspace_ID__c", request.workspace_ids),
        soql.Condition("Email__c", request.workspace_emails),
        soql.Condition("Lead__c", request.lead_ids))
    add("lead", soql.select_from(LEAD_FIELDS, "Lead"),
        soql.Condition("Email", request.emails),
        soql.Condition("Workspace_ID__c", request.workspace_ids),
        soql.Condition("Id", request.lead_ids))
    add("account", "SELECT Id, Email_Domain__c, Website FROM Account",
        soql.Condition("Email_Domain__c", request.domains),
        soql.Condition("Website", request.domains, ("%", "%")))
    add("contact", "SELECT Id, Email, AccountId FROM Contact",
        soql.Condition("Email", request.contact_emails))
    if need_status:
        out.append(("status", STATUS_QUERY))
    return out


def batches(items: list[tuple[str, str]]) -> Iterable[list[tuple[str, str]]]:
    size = COMPOSITE_MAX_QUERY_OR_COLLECTIONS
    for start in range(0, len(items), size):
        yield items[start:start + size]


def snapshot(rows: Mapping[str, list[dict[str, Any]]], status: str | None) -> Snapshot:
    """A snapshot from query rows by kind (Leads also come from Workspace relationships)."""
    workspaces = {str(r["Workspace_ID__c"]).lower(): WorkspaceRow(_flat(r))
                  for r in rows.get("ws", []) if r.get("Workspace_ID__c")}
    leads = {str(r["Id"]): LeadRow.from_record(r) for r in rows.get("lead", [])}
    for record in rows.get("ws", []):
        related = record.get("Lead__r")
        if isinstance(related, dict) and record.get("Lead__c"):
            leads.setdefault(str(record["Lead__c"]),
                             LeadRow.from_record({**related, "Id": record["Lead__c"]}))
    accounts = tuple(AccountRow(str(r["Id"]), r.get("Email_Domain__c"), r.get("Website"))
                     for r in rows.get("account", []))
    contacts = tuple(ContactRow(str(r["Id"]), r.get("Email"), r.get("AccountId"))
                     for r in rows.get("contact", []))
    return Snapshot(workspaces, tuple(leads.values()), accounts, contacts, status)


def _flat(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in ("attributes", "Lead__r")}
