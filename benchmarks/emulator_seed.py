"""Fill an emulator state directory with many records, fast, before the emulator starts.

Seeding goes straight through the record store in one transaction per object (no HTTP, no
change events: nothing listens yet), which is how a large org is set up for the emulator
benchmark and for tests that need volume. The emulator started afterwards on the same state
directory loads the rows from ``org.db`` like any other records.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.identity import load_or_create_identity
from emulator.org.records import RecordStore
from emulator.org.seed import seed_org
from emulator.schema import build_catalog

ACCOUNTS_PER_LEAD = 10  # one Account per ten Leads, linked by email domain


@dataclass
class SeededOrg:
    """What the benchmark needs to address the seeded rows (index i is the i-th record)."""

    records: int
    lead_ids: list[str] = field(default_factory=list)
    workspace_ids: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @staticmethod
    def email(i: int) -> str:
        return f"person{i}@company{i // ACCOUNTS_PER_LEAD}.example.com"

    @staticmethod
    def domain(i: int) -> str:
        return f"company{i}.example.com"

    @staticmethod
    def workspace_key(i: int) -> str:
        return f"ws-{i:07d}"


def lead_values(i: int) -> dict[str, Any]:
    return {"FirstName": f"Pat{i}", "LastName": f"Lee{i}", "Company": f"Company {i // 10}",
            "Email": SeededOrg.email(i), "LeadSource": "Product Signup",
            "Workspace_ID__c": SeededOrg.workspace_key(i)}


def seed_state(state_dir: Path, records: int) -> SeededOrg:
    """``records`` Leads and Workspace__c and ``records / 10`` Accounts, in ``state_dir``."""
    started = time.perf_counter()
    state_dir.mkdir(parents=True, exist_ok=True)
    identity = load_or_create_identity(state_dir)
    store = RecordStore(state_dir / "org.db", build_catalog())
    seeded = SeededOrg(records)
    try:
        seed_org(store, identity)
        user = identity.integration_user_id
        with store.transaction(user) as tx:
            for i in range(records // ACCOUNTS_PER_LEAD):
                tx.insert("Account", {"Name": f"Company {i}", "Email_Domain__c": seeded.domain(i)})
        with store.transaction(user) as tx:
            seeded.lead_ids = [tx.insert("Lead", lead_values(i)) for i in range(records)]
        with store.transaction(user) as tx:
            seeded.workspace_ids = [
                tx.insert("Workspace__c", {"Workspace_ID__c": seeded.workspace_key(i),
                                           "Self_Serve_Status__c": "Trial"})
                for i in range(records)
            ]
    finally:
        store.close()
    seeded.seconds = time.perf_counter() - started
    return seeded
