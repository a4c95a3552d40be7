"""Property: any delivery order of a Workspace's events, with duplicates and in any batching,
ends in the same Salesforce state as delivering them once each in event-time order."""

from __future__ import annotations

from entry_builders import lifecycle_entry
from fake_org import FakeOrg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.cycle import run_cycle

T0 = 1_790_000_000_000
KINDS = {
    "Trial": lambda i: {"trial_expiration": f"2027-01-{i % 28 + 1:02d}"},
    "Conversion": lambda i: {"subscription_id": f"sub_{i}", "plan_type": f"P{i}", "mrr": i * 10},
    "Churn": lambda i: {"churn_date": f"2027-03-{i % 28 + 1:02d}", "churn_reason": f"r{i}"},
}
event_specs = st.lists(st.tuples(st.sampled_from(sorted(KINDS)),
                                 st.integers(min_value=0, max_value=10_000)),
                       min_size=1, max_size=6, unique_by=lambda spec: spec[1])


def _entries(specs):
    return [lifecycle_entry(kind, "ws-p", KINDS[kind](i), T0 + i * 1000,
                            email="owner@acme.co.uk", uuid=f"u{i}") for kind, i in specs]


def _deliver(entries, batches):
    org = FakeOrg()
    org.add_account("acme.co.uk")
    for batch in batches:
        run_cycle(batch, org, "lifecycle-sync")
    return _state(org)


def _state(org):
    [ws] = org.workspaces.values()
    fields = {k: v for k, v in ws.items() if k != "Id" and v is not None}
    fields["Needs_Review__c"] = bool(fields.get("Needs_Review__c"))  # checkbox default false
    fields["Review_Reason__c"] = fields.get("Review_Reason__c") or None
    leads = sorted((lead.email, lead.is_converted) for lead in org.leads.values())
    # Event_Cache__c keeps an audit trail of how delivery went (a row parked and later
    # Completed exists only if the Trial came in a later cycle); what must match is what is
    # still outstanding.
    cache = {u: r.get("Processing_Status__c") for u, r in org.cache.items()
             if r.get("Processing_Status__c") != "Completed"}
    linked = (bool(ws.get("Lead__c")), bool(ws.get("Account__c")), bool(ws.get("Contact__c")))
    # Which event last changed the Workspace depends on delivery order by design (audit).
    for name in ("Lead__c", "Contact__c", "Account__c", "Last_Event_Uuid__c",
                 "Last_Replay_Id__c"):
        fields.pop(name, None)
    return fields, leads, cache, linked, len(org.contacts)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=event_specs, data=st.data())
def test_any_order_with_duplicates_ends_like_in_order(specs, data):
    entries = _entries(specs)
    in_order = _deliver(entries, [[e] for e in sorted(
        entries, key=lambda e: e.payload["Event_Timestamp__c"])])
    delivered = data.draw(st.lists(st.sampled_from(entries), min_size=len(entries),
                                   max_size=3 * len(entries)))
    delivered += [e for e in entries if e not in delivered]  # every event at least once
    shuffled = data.draw(st.permutations(delivered))
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(shuffled) - 1)), max_size=4)))
    bounds = zip([0, *cuts], [*cuts, len(shuffled)], strict=True)
    batches = [shuffled[a:b] for a, b in bounds if a < b]
    assert _deliver(entries, batches) == in_order
