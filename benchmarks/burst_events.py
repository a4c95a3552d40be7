"""The event mix of ``benchmarks.burst``: deterministic, like a busy day of a self-serve product.

About ``events / 3.3`` Workspaces; each gets a Trial, and then (by chance) trial extensions,
a Conversion, a Churn and a reactivation, in event-time order. A tenth of neighbours are
swapped in publish order (out of order), 1 % of events are malformed, and a third of the email
domains belong to an existing Account.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from typing import Any

T0_MS = 1_790_000_000_000


@dataclass(frozen=True)
class BurstEvent:
    event_id: str
    workspace_id: str
    record: dict[str, Any]
    valid: bool


def domains(workspaces: int) -> list[str]:
    return [f"burst{d}.example.co.uk" for d in range(max(1, workspaces // 3))]


def account_domains(workspaces: int) -> list[str]:
    """The domains an Account is seeded for (every third)."""
    return domains(workspaces)[::3]


def mix(events: int, user_id: str, seed: int = 7) -> list[BurstEvent]:
    rng = random.Random(seed)
    workspaces = max(1, round(events / 3.3))
    names = domains(workspaces)
    plans: list[list[tuple[str, dict[str, Any]]]] = [[] for _ in range(workspaces)]
    for w in range(workspaces):
        plans[w].append(("Trial", {"trial_expiration": "2027-01-31"}))
    kinds: list[tuple[str, dict[str, Any]]] = [("Trial", {"trial_expiration": "2027-02-28"}),
             ("Conversion", {"subscription_id": "sub", "plan_type": "Team", "mrr": 99}),
             ("Churn", {"churn_date": "2027-06-01", "churn_reason": "budget"})]
    while sum(len(p) for p in plans) < events:
        plans[rng.randrange(workspaces)].append(rng.choice(kinds))
    out = []
    for w, plan in enumerate(plans):
        email = f"owner{w}@{names[w % len(names)]}"
        for step, (kind, data) in enumerate(plan):
            out.append(_event(rng, w, step, kind, data, email, user_id))
    rng.shuffle(out)  # workspaces interleave
    for i in range(0, len(out) - 1, 10):  # a tenth out of order
        out[i], out[i + 1] = out[i + 1], out[i]
    return out[:events]


def _event(rng: random.Random, w: int, step: int, kind: str, data: dict[str, Any], email: str,
           user_id: str) -> BurstEvent:
    valid = rng.random() >= 0.01
    event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    record = {
        "CreatedDate": T0_MS, "CreatedById": user_id, "Workspace_ID__c": f"burst-{w}",
        "Email__c": email, "Event_Type__c": kind if valid else "Upgrade",
        "Event_Data__c": json.dumps(data) if valid else "{not json",
        "Event_Timestamp__c": T0_MS + w * 10_000 + step * 1000,
    }
    return BurstEvent(event_id, f"burst-{w}", record, valid)
