"""The final Salesforce state of a run, in a form two runs can be compared in.

Record IDs, system timestamps and replay IDs differ from run to run, so each record is keyed
by what identifies it in the business (a Workspace by ``Workspace_ID__c``, a Lead by email…),
each reference field is replaced by the natural key of the record it points to, and fields
whose values are wall-clock or run-specific (:data:`VOLATILE`) are left out. Every other
field the org describes is compared, so fields added later are covered without edits here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

# object -> how a record is named in the business (a tuple of field names)
NATURAL_KEYS: dict[str, tuple[str, ...]] = {
    "Account": ("Email_Domain__c", "Name"),
    "Lead": ("Email",),
    "Contact": ("Email",),
    "Opportunity": ("Name",),
    "Workspace__c": ("Workspace_ID__c",),
    "Event_Cache__c": ("Event_Uuid__c",),
    "Task": ("WhatId", "WhoId", "Subject"),
    "User": ("Username",),
}
VOLATILE = frozenset({
    "Id", "CreatedDate", "LastModifiedDate", "SystemModstamp", "LastModifiedById",
    "CreatedById", "LastActivityDate", "LastViewedDate", "LastReferencedDate", "IsDeleted",
    "Last_Replay_Id__c", "Replay_Id__c", "Next_Attempt_At__c", "Retry_Count__c",
    "Processing_Notes__c", "ConvertedDate", "ActivityDate", "Name",
    # audit: the newest event of the cycle that last changed the record; depends on batching
    "Last_Event_Uuid__c",
})
KEEP_NAME = frozenset({"Account", "Opportunity"})  # their Name is the business key

Key = tuple[str, tuple[Any, ...]]
State = dict[Key, list[dict[str, Any]]]  # several records under one key are duplicates
Query = Callable[[str], list[dict[str, Any]]]


def fields_of(describe: Callable[[str], dict[str, Any]], sobject: str) -> list[str]:
    return [f["name"] for f in describe(sobject)["fields"]]


def snapshot(query: Query, describe: Callable[[str], dict[str, Any]]) -> State:
    """Every record of :data:`NATURAL_KEYS`' objects, keyed and with references resolved."""
    raw = {o: query(f"SELECT {', '.join(fields_of(describe, o))} FROM {o}") for o in NATURAL_KEYS}
    names: dict[str, str] = {}
    for sobject, records in raw.items():
        for r in records:
            names[str(r["Id"])] = f"{sobject}:{_plain_key(sobject, r)}"
    state: State = defaultdict(list)
    for sobject, records in raw.items():
        for r in records:
            values = {k: _resolve(v, names) for k, v in r.items()
                      if k != "attributes" and (k not in VOLATILE
                                                or (k == "Name" and sobject in KEEP_NAME))}
            key = tuple(values.get(f) for f in NATURAL_KEYS[sobject])
            state[(sobject, key)].append(values)
    for records in state.values():
        records.sort(key=repr)
    return dict(state)


def _plain_key(sobject: str, record: dict[str, Any]) -> str:
    """A record's key before references are resolved (Task's references stay IDs here)."""
    return "|".join(str(record.get(f)) for f in NATURAL_KEYS[sobject])


def _resolve(value: Any, names: dict[str, str]) -> Any:
    return names.get(value, value) if isinstance(value, str) else value
