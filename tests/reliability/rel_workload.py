"""The seeded event mix every reliability case publishes, and the Lead changes that make CDC.

A :class:`Workload` is a pure function of ``(seed, events)``: per Workspace a Trial, maybe a
trial extension, maybe a Conversion and then maybe a Churn, in event-time order; Workspaces
interleave at random, a tenth of neighbouring events are swapped in publish order (so a
Conversion may arrive before its Trial and be parked), 1 % are malformed and a third of the
email domains have an Account. Plus "Marketo" Leads the test client writes through REST,
which the emulator turns into ``/data/LeadChangeEvent`` change events:

* ``owner_leads``: Leads created *before* any platform event for some Workspace owners, so a
  Trial finds an existing Lead by email (the lookup path, not the create path);
* ``marketo_leads``: Leads no Workspace refers to, created up front and updated between
  publish batches, so change events arrive interleaved with platform events.

Everything the daemon could race with is written before the platform events (owner Leads) or
touches records no platform event touches (Marketo Leads), so a fault-free run of a seed has
one final state however the daemon batches: that is what the checker compares against.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from benchmarks.burst_events import BurstEvent, account_domains, domains
from benchmarks.burst_events import _event as _event  # one event's record, shared with burst

PUBLISH_BATCH = 100  # per Publish call; also the unit the harness interleaves Lead updates at


@dataclass(frozen=True)
class Workload:
    """What one seed publishes and writes; ``batches`` is the publish order."""

    seed: int
    events: list[BurstEvent]
    account_domains: list[str]
    owner_lead_emails: list[str]
    marketo_lead_emails: list[str]
    # after publishing batch i, update these Marketo Leads (index into marketo_lead_emails)
    updates_after_batch: dict[int, list[int]] = field(default_factory=dict)
    batch_size: int = PUBLISH_BATCH

    @property
    def batches(self) -> list[list[BurstEvent]]:
        return [self.events[i:i + self.batch_size]
                for i in range(0, len(self.events), self.batch_size)]

    @property
    def event_ids(self) -> list[str]:
        return [e.event_id for e in self.events]

    @property
    def lead_changes(self) -> int:
        """Change events the test client causes (creates + updates); the daemon adds its own."""
        return (len(self.owner_lead_emails) + len(self.marketo_lead_emails)
                + sum(len(v) for v in self.updates_after_batch.values()))


def make_workload(seed: int, events: int, user_id: str, batch_size: int = PUBLISH_BATCH
                  ) -> Workload:
    """The workload of ``seed``: ``events`` platform events and about events/20 Lead changes,
    published ``batch_size`` at a time."""
    burst = lifecycle_mix(events, user_id, seed)
    rng = random.Random(seed * 7919 + 1)
    owners = sorted({str(e.record["Email__c"]) for e in burst if e.valid})
    owner_leads = rng.sample(owners, k=min(len(owners), max(1, events // 100)))
    marketo = [f"mkto{seed}-{i}@marketo-{i % 7}.example.org" for i in range(max(2, events // 50))]
    batches = (len(burst) + batch_size - 1) // batch_size
    updates: dict[int, list[int]] = {}
    for _ in range(max(1, events // 40)):
        updates.setdefault(rng.randrange(batches), []).append(rng.randrange(len(marketo)))
    workspaces = len({e.workspace_id for e in burst})
    return Workload(seed, burst, account_domains(workspaces), sorted(owner_leads), marketo,
                    {k: sorted(set(v)) for k, v in updates.items()}, batch_size)


_STEPS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("Trial", {"trial_expiration": "2027-02-28"}),
    ("Conversion", {"subscription_id": "sub", "plan_type": "Team", "mrr": 99}),
    ("Churn", {"churn_date": "2027-06-01", "churn_reason": "budget"}),
)


def lifecycle_mix(events: int, user_id: str, seed: int) -> list[BurstEvent]:
    """``events`` platform events: plausible per-Workspace lifecycles, interleaved.

    Not :func:`benchmarks.burst_events.mix`: that one shuffles each Workspace's events at
    random (a Trial after the Churn), whose outcome legitimately depends on how the daemon
    happened to batch them, so a fault-free run would not be a reference."""
    rng = random.Random(seed)
    workspaces = max(1, round(events / 2.0))  # ~2.14 events each: enough, then cut
    names = domains(workspaces)
    plans = [[("Trial", {"trial_expiration": "2027-01-31"})] for _ in range(workspaces)]
    for plan in plans:
        if rng.random() < 0.3:
            plan.append(_STEPS[0])
        if rng.random() < 0.6:
            plan.append(_STEPS[1])
            if rng.random() < 0.4:
                plan.append(_STEPS[2])
    queues = [[_event(rng, w, step, kind, data, f"owner{w}@{names[w % len(names)]}", user_id)
               for step, (kind, data) in enumerate(plan)] for w, plan in enumerate(plans)]
    out: list[BurstEvent] = []
    while len(out) < events and any(queues):
        queue = rng.choice([q for q in queues if q])
        out.append(queue.pop(0))
    for i in range(0, len(out) - 1, 10):  # a tenth out of order
        out[i], out[i + 1] = out[i + 1], out[i]
    return out

