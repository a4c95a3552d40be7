"""The steady load's model past the Workspace's own fields (:func:`rel_checker.against_model`).

The Workspace fields alone would pass a lost convertLead, a Contact never created, or a
malformed event that got applied. From the workload alone: each modelled Workspace whose
Conversion took effect has its owner's Lead converted and a Contact for the owner; every
invalid event ends as poison or parked for review (settled with an error), never applied.

Not modelled: the Account link. The workload's Accounts are seeded for subdomains of
example.co.uk, whose registrable domain (what the product matches on) has no Account, so a
link check would expect no link anywhere and prove nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rel_workload import expected_workspaces

if TYPE_CHECKING:
    from rel_checker import RunResult
    from rel_workload import Workload


def check_links(workload: Workload, run: RunResult, lost: list[str], wrong: list[str]) -> None:
    """Append what is missing to ``lost`` and what should not have happened to ``wrong``."""
    owners = {e.workspace_id: str(e.record["Email__c"]).lower()
              for e in workload.events if e.valid}
    for wid, fields in sorted(expected_workspaces(workload).items()):
        if "Conversion_Date__c" not in fields:
            continue
        email = owners[wid]
        lead = (run.state.get(("Lead", (email,))) or [{}])[0]
        if not lead.get("IsConverted"):
            lost.append(f"Workspace {wid}: its owner's Lead was not converted")
        if not run.state.get(("Contact", (email,))):
            lost.append(f"Workspace {wid}: no Contact for its owner")
    for event in workload.events:
        status = run.inbox.get(event.event_id)
        if event.valid or status in (None, "poison") or event.event_id in run.parked:
            continue
        wrong.append(f"invalid event {event.event_id} ended {status} with no error")
