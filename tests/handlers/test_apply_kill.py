"""kill -9 of the daemon at random moments while it applies, restarted each time: the final
Salesforce state equals a run without kills (no missing and no duplicate records)."""

from __future__ import annotations

import json
import random
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from apply_rig import ApplyRig, wait_until
from helpers.inbox_places import BACKENDS, upgraded_schema
from helpers.pubsub_client import TRIAL_TOPIC

from proto import pubsub_api_pb2 as pb

SEED = 20261130
WORKSPACES = 400
# One worker, small batches: applying takes many cycles, so each kill lands amid them
SLOW_APPLY = {"LIFECYCLE_SYNC_APPLY_WORKERS": "1", "LIFECYCLE_SYNC_APPLY_BATCH_SIZE": "40"}


def _records(rig: ApplyRig) -> list[tuple[str, dict]]:
    """A fixed, shuffled mix: trials, conversions, churns, conversions before their trial."""
    out = []
    for i in range(WORKSPACES):
        email = f"k{i}@kill-{i % 6}.co.uk"
        ws = f"kill-{i}"
        out.append(rig.record("Trial", ws, {"trial_expiration": "2027-01-31"}, i, email=email))
        if i % 3 == 0:
            out.append(rig.record("Conversion", ws, {"subscription_id": f"s{i}",
                                                     "plan_type": "Team", "mrr": i}, 500 + i,
                                  email=email))
        if i % 5 == 0:
            out.append(rig.record("Churn", ws, {"churn_date": "2027-05-01"}, 900 + i,
                                  email=email))
    random.Random(SEED).shuffle(out)
    return [(str(uuid.uuid5(uuid.NAMESPACE_URL, f"kill/{n}")), r) for n, r in enumerate(out)]


def _publish(rig: ApplyRig, records: list[tuple[str, dict]]) -> list[str]:
    events = [pb.ProducerEvent(id=event_id, schema_id=rig.schema_id,
                               payload=rig.pubsub.encode(rig.schema_id, record))
              for event_id, record in records]
    for start in range(0, len(events), 100):
        response = rig.pubsub.publish(TRIAL_TOPIC, events[start:start + 100])
        assert [r.error.msg for r in response.results if r.error.msg] == []
    return [event_id for event_id, _ in records]


def _state(rig: ApplyRig) -> dict[str, object]:
    leads = {r["Id"]: r["Email"] for r in rig.query("SELECT Id, Email FROM Lead")}
    accounts = {r["Id"]: r["Name"] for r in rig.query("SELECT Id, Name FROM Account")}
    contacts = {r["Id"]: r["Email"] for r in rig.query("SELECT Id, Email FROM Contact")}
    rows = rig.query(
        "SELECT Workspace_ID__c, Email__c, Self_Serve_Status__c, Trial_Start_Date__c, "
        "Trial_Expiration_Date__c, Plan_Type__c, MRR__c, Subscription_ID__c, Conversion_Date__c, "
        "Churn_Date__c, Last_Event_Time__c, Trial_History__c, Lead__c, Account__c, Contact__c, "
        "Needs_Review__c, Review_Reason__c FROM Workspace__c")
    workspaces = {}
    for r in rows:
        r = {k: v for k, v in r.items() if k != "attributes"}
        r["Lead__c"] = leads.get(r["Lead__c"])
        r["Account__c"] = accounts.get(r["Account__c"])
        r["Contact__c"] = contacts.get(r["Contact__c"])
        workspaces[r.pop("Workspace_ID__c")] = r
    # Completed rows are an audit trail of how delivery was batched (a Conversion parked
    # because its Trial came in a later cycle); what must match is what is still outstanding.
    cache = sorted((r["Event_Uuid__c"], r["Processing_Status__c"]) for r in rig.query(
        "SELECT Event_Uuid__c, Processing_Status__c FROM Event_Cache__c "
        "WHERE Processing_Status__c != 'Completed'"))
    return {"workspaces": workspaces, "leads": Counter(leads.values()),
            "accounts": Counter(accounts.values()), "contacts": Counter(contacts.values()),
            "cache": cache}


def _pending(rig: ApplyRig) -> int:
    return sum(e.status.value == "pending" for e in rig.entries())


def _done(rig: ApplyRig) -> int:
    """Lifecycle entries settled: the daemon's own Lead change events are settled at claim
    time and must not count as "a cycle applied" (kills would land between cycles)."""
    return sum(e.status.value != "pending" for e in rig.entries() if e.change is None)


def _run(emulator_factory, tmp_path: Path, name: str, kills: int, dsn: str | None = None
         ) -> tuple[dict, list[tuple[float, int]]]:
    # 150 ms per REST/SOAP request, so cycles take long enough for kills to land inside them
    emulator = emulator_factory(state_dir=tmp_path / f"{name}-emulator", latency_ms=150.0)
    work = tmp_path / name
    work.mkdir()
    rig = ApplyRig(emulator, work, SLOW_APPLY, inbox_dsn=dsn)
    moments: list[tuple[float, int]] = []
    try:
        rig.start()
        ids = _publish(rig, _records(rig))
        wait_until(lambda: len(rig.entries()) >= len(ids), 60, "every event landed")
        rng = random.Random(SEED + 1)
        for _ in range(kills):
            done_before = _done(rig)
            wait_until(lambda before=done_before: _done(rig) > before or not _pending(rig), 60,
                       "a cycle applied since the start")
            if not _pending(rig):
                break
            delay_s = rng.uniform(0.0, 0.3)
            time.sleep(delay_s)  # a random moment during apply: the fault, not synchronisation
            pending = sum(e.status.value == "pending" for e in rig.entries())
            moments.append((delay_s, pending))
            assert rig.daemon is not None
            rig.daemon.kill()
            rig.start()
        rig.wait_done(ids, timeout_s=120)
        rig.wait_idle()
        return _state(rig), moments
    finally:
        rig.close()


_REFERENCE: list[dict] = []  # the kill-free run's end state: the same for either backend


@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_9_during_apply_ends_like_a_run_without_kills(emulator_factory, tmp_path, backend,
                                                            request):
    """On PostgreSQL each restart waits out the killed node's lease (3 s) first."""
    if not _REFERENCE:
        _REFERENCE.append(_run(emulator_factory, tmp_path, "reference", kills=0)[0])
    reference = _REFERENCE[0]
    dsn = (upgraded_schema(request.getfixturevalue("pg_server")) if backend == "postgres"
           else None)
    killed, moments = _run(emulator_factory, tmp_path, "killed", kills=4, dsn=dsn)
    assert killed["workspaces"] == reference["workspaces"]
    for kind in ("leads", "accounts", "contacts"):
        assert killed[kind] == reference[kind], kind
    for kind in ("leads", "contacts"):  # one per email: nothing created twice
        assert all(n == 1 for n in killed[kind].values()), (kind, killed[kind])
    assert killed["cache"] == reference["cache"]
    assert len(reference["workspaces"]) == WORKSPACES
    assert sum(1 for _, pending in moments if pending) >= 2  # kills that hit work in progress
    print(json.dumps({"kills": [{"after_s": round(d, 3), "pending": p} for d, p in moments]}))
