"""What ``lifecycle-sync check`` verifies in the org: every object, field and picklist value
the daemon reads or writes exists and is writable by the integration user (describe calls,
one per object).

The table below is the daemon's contract with the org: the handlers, the scheduler's jobs
and ``review`` use nothing else. A field missing from describe means the metadata is not
deployed (or field-level security hides it: describe only shows what the user can see); a
field present but not createable/updateable means the permission set is not assigned.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

DEPLOY = "deploy salesforce/ (sf project deploy start --source-dir salesforce/force-app)"
ASSIGN = ("assign permission set Lifecycle_Sync_Integration to the integration user "
          "(sf org assign permset --name Lifecycle_Sync_Integration)")


@dataclass(frozen=True)
class Need:
    """``write``: fields the daemon creates or updates; ``read``: fields it only queries."""

    write: tuple[str, ...] = ()
    read: tuple[str, ...] = ()
    picklists: Mapping[str, tuple[str, ...]] = ()  # type: ignore[assignment]
    create_records: bool = False  # the user must be able to create the object's records


WORKSPACE_WRITE = (
    "Workspace_ID__c", "Email__c", "Lead__c", "Account__c", "Contact__c", "Opportunity__c",
    "Self_Serve_Status__c", "Trial_Start_Date__c", "Trial_Expiration_Date__c",
    "Trial_History__c", "Conversion_Date__c", "Plan_Type__c", "MRR__c", "Subscription_ID__c",
    "Churn_Date__c", "Churn_Reason__c", "Last_Event_Time__c", "Last_Event_Uuid__c",
    "Last_Replay_Id__c", "Needs_Review__c", "Review_Reason__c", "Expiration_Alert_Days__c",
    "Expiration_Alert_Sent_For__c", "Latest_Usage__c", "Latest_Usage_At__c",
    "Processing_Notes__c")
CACHE_WRITE = (
    "Event_Uuid__c", "Workspace_ID__c", "Event_Type__c", "Event_Data__c", "Replay_Id__c",
    "Original_Timestamp__c", "Processing_Status__c", "Processing_Notes__c", "Retry_Count__c",
    "Next_Attempt_At__c", "Needs_Review__c", "Review_Reason__c")
REQUIRED: dict[str, Need] = {
    "Workspace__c": Need(write=WORKSPACE_WRITE, picklists={
        "Self_Serve_Status__c": ("Trial", "Paid", "Churned")}),
    "Event_Cache__c": Need(write=CACHE_WRITE, picklists={
        "Processing_Status__c": ("New", "Completed", "Error")}),
    "Lead": Need(write=("Email", "Company", "FirstName", "LastName", "LeadSource"),
                 read=("IsConverted", "ConvertedAccountId", "ConvertedContactId", "OwnerId")),
    "Account": Need(read=("Email_Domain__c", "Website", "OwnerId")),
    "Contact": Need(read=("Email", "AccountId")),
    # trial-alerts writes Status "Not Started" and Priority "High" (last day) or "Normal".
    "Task": Need(write=("Subject", "ActivityDate", "WhatId", "WhoId", "OwnerId", "Description",
                        "Status", "Priority"),
                 picklists={"Status": ("Not Started",), "Priority": ("High", "Normal")}),
}
# apply.create_opportunity: convertLead creates an Opportunity, linked on the Workspace.
OPPORTUNITY = Need(read=("Name", "AccountId"), create_records=True)


def required(create_opportunity: bool) -> dict[str, Need]:
    """What the daemon needs with this configuration."""
    return {**REQUIRED, "Opportunity": OPPORTUNITY} if create_opportunity else dict(REQUIRED)

Describe = Callable[[str], Mapping[str, Any] | None]  # None: the object does not exist
Check = tuple[str, str | None]


def org_checks(describe: Describe, required: Mapping[str, Need] = REQUIRED) -> list[Check]:
    """One (what, problem or None) per object, naming every missing or read-only piece."""
    results: list[Check] = []
    for name, need in required.items():
        found = describe(name)
        if found is None:
            results.append((f"object {name}", f"missing: {DEPLOY}"))
            continue
        results.append((f"object {name}: {len(need.write)} writable and {len(need.read)} "
                        "readable fields, picklist values", _object_problem(found, need)))
    return results


def _object_problem(describe: Mapping[str, Any], need: Need) -> str | None:
    fields = {f["name"]: f for f in describe.get("fields", [])}
    missing = [f for f in (*need.write, *need.read) if f not in fields]
    read_only = [f for f in need.write if f in fields
                 and not (fields[f].get("createable") and fields[f].get("updateable"))]
    if need.create_records and not describe.get("createable"):
        read_only.insert(0, "(creating records)")
    values = []
    for field, wanted in dict(need.picklists).items():
        active = {v.get("value") for v in fields.get(field, {}).get("picklistValues", [])
                  if v.get("active", True)}
        values += [f"{field}={v}" for v in wanted if field in fields and v not in active]
    problems = []
    if missing:
        problems.append(f"missing fields {', '.join(missing)}: {DEPLOY}, and check field-level "
                        "security (describe shows only what the user can see)")
    if values:
        problems.append(f"missing picklist values {', '.join(values)}: {DEPLOY}")
    if read_only:
        problems.append(f"not writable by the integration user: {', '.join(read_only)}: "
                        f"{ASSIGN}")
    return "; ".join(problems) or None
