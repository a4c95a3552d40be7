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

import datetime as dt
import json
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



_STATUS = {"Trial": "Trial", "Conversion": "Paid", "Churn": "Churned"}


def expected_workspaces(workload: Workload) -> dict[str, dict[str, Any]]:
    """What each Workspace must end as, from the workload alone (not from a run).

    Why: the reference run goes through the product, so a product bug (events folded in the
    wrong order, say) would show up in the reference and in the faulty run alike and the
    checker would see no difference. This is the matrix's model written independently: last
    writer wins by event time among the valid events of a Workspace. Only Workspaces whose
    first valid event is a Trial are modelled; the others (a Conversion with no Trial is
    parked) depend on rules a simple model should not restate."""
    by_workspace: dict[str, list[BurstEvent]] = {}
    for e in workload.events:
        if e.valid:
            by_workspace.setdefault(e.workspace_id, []).append(e)
    out: dict[str, dict[str, Any]] = {}
    for wid, events in by_workspace.items():
        events.sort(key=lambda e: int(e.record["Event_Timestamp__c"]))
        if events[0].record["Event_Type__c"] == "Trial":
            out[wid] = _last_writer_wins(events)
    return out


def _last_writer_wins(events: list[BurstEvent]) -> dict[str, Any]:
    """Each field from the newest event that sets it; the trial starts on the first Trial."""
    fields: dict[str, Any] = {"Trial_Start_Date__c": _day(events[0])}
    for e in events:
        kind, data = e.record["Event_Type__c"], json.loads(e.record["Event_Data__c"])
        fields["Self_Serve_Status__c"] = _STATUS[kind]
        fields["Last_Event_Time__c"] = _instant(int(e.record["Event_Timestamp__c"]))
        if kind == "Trial":
            fields["Trial_Expiration_Date__c"] = data["trial_expiration"]
        elif kind == "Conversion":
            fields.update({"Plan_Type__c": data["plan_type"], "MRR__c": float(data["mrr"]),
                           "Subscription_ID__c": data["subscription_id"],
                           "Conversion_Date__c": _day(e)})
        else:
            fields.update({"Churn_Date__c": data["churn_date"],
                           "Churn_Reason__c": data["churn_reason"]})
    return fields


def _instant(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


def _day(e: BurstEvent) -> str:
    return _instant(int(e.record["Event_Timestamp__c"])).date().isoformat()


def workspace_mismatches(expected: dict[str, dict[str, Any]],
                         records: dict[str, dict[str, Any]]) -> list[str]:
    """Each Workspace field (by ``Workspace_ID__c``) that differs from the model."""
    out = []
    for wid, fields in sorted(expected.items()):
        have = records.get(wid)
        if have is None:
            out.append(f"{wid}: missing")
            continue
        for name, want in fields.items():
            got = have.get(name)
            if isinstance(want, dt.datetime):
                got = parse_instant(got)
            if got != want:
                out.append(f"{wid}.{name}={got!r}, model {want!r}")
    return out


def parse_instant(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("+0000", "+00:00"))
