"""The rows a new org starts with: the Organization, users, and the default lead statuses.

Seeding runs at every start and only adds what is missing, so a state directory created by an
older emulator gains new seed rows without losing records. The integration user keeps the ID
and username from ``identity.json``; the sales reps give tests real owners to assign.
"""

from __future__ import annotations

from typing import Any

from emulator.identity import OrgIdentity
from emulator.org.records import RecordStore
from emulator.standard_objects import LEAD_STATUSES

DOMAIN = "lifecycle-sync.emulator"
SALES_REPS = (
    {"FirstName": "Sam", "LastName": "Rivera", "Username": f"sam.rivera@{DOMAIN}"},
    {"FirstName": "Alex", "LastName": "Chen", "Username": f"alex.chen@{DOMAIN}"},
)
CONVERTED_STATUS = "Closed - Converted"
DEFAULT_STATUS = "Open - Not Contacted"


def seed_org(store: RecordStore, identity: OrgIdentity) -> None:
    """Insert the seed rows not there yet, in one transaction run by the integration user."""
    with store.transaction(identity.integration_user_id, "") as tx:
        if tx.get("Organization", identity.org_id) is None:
            tx.insert("Organization", _organization(), record_id=identity.org_id)
        if tx.get("User", identity.integration_user_id) is None:
            tx.insert("User", _integration_user(identity), record_id=identity.integration_user_id)
        for rep in SALES_REPS:
            if not tx.find("User", "Username", rep["Username"]):
                tx.insert("User", {**rep, "Email": rep["Username"], "IsActive": True})
        existing = {str(r["MasterLabel"]) for r in tx.rows("LeadStatus") if not r["IsDeleted"]}
        for order, label in enumerate(LEAD_STATUSES, start=1):
            if label not in existing:
                tx.insert("LeadStatus", _status(label, order))


def _organization() -> dict[str, Any]:
    return {"Name": "Lifecycle Sync Emulator", "InstanceName": "EMU1", "IsSandbox": False,
            "OrganizationType": "Enterprise Edition"}


def _integration_user(identity: OrgIdentity) -> dict[str, Any]:
    return {"FirstName": "Integration", "LastName": "Lifecycle Sync",
            "Username": identity.username, "Email": identity.username, "IsActive": True}


def _status(label: str, order: int) -> dict[str, Any]:
    return {"MasterLabel": label, "ApiName": label, "SortOrder": order,
            "IsDefault": label == DEFAULT_STATUS, "IsConverted": label == CONVERTED_STATUS}
