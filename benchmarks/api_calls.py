"""Salesforce API calls per event, by event kind: ``python -m benchmarks.api_calls --json``.

One emulator (its own process, no added latency) and one daemon (a subprocess, scheduled jobs
off so only applying calls Salesforce). Four phases, each on the Workspaces of the one before,
each counted with the emulator's call counters (reset before the phase) once every entry is
applied:

* **trial**: ``--events`` Trials for as many new Workspaces (no Lead, no Account yet);
* **conversion**: a Conversion for each of those Workspaces;
* **churn**: a Churn for each;
* **lead change**: ``--events`` Leads created by another client (as marketing automation
  does), one per new email; the daemon receives their ``LeadChangeEvent`` and looks for
  Workspaces to link. The benchmark's own create calls (one sObject Collections call per 200)
  are subtracted.

Events are published in batches of 200, so the daemon applies full cycles: the figure is the
batched cost, not a single event's (see ``benchmarks.latency`` for single events). A table,
then one JSON line with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import requests

from benchmarks.burst_events import T0_MS, BurstEvent
from benchmarks.common import (
    EventPublisher,
    InboxReader,
    admin,
    emit,
    load_average,
    machine,
    wait_settled,
    work_dir,
)
from benchmarks.rig import Daemon, NotifySocket, poll, start_emulator_process_with

LEAD_TOPIC = "/data/LeadChangeEvent"
OTHER_CLIENT = "marketing-automation"
KINDS = ("trial", "conversion", "churn", "lead_change")
DATA = {"Trial": {"trial_expiration": "2027-01-31"},
        "Conversion": {"subscription_id": "sub", "plan_type": "Team", "mrr": 99},
        "Churn": {"churn_date": "2027-06-01", "churn_reason": "budget"}}
KEYS = ("events", *(f"{k}_calls_per_event" for k in KINDS), "load_avg_before", "load_avg_after")


def _events(kind: str, count: int, step: int, user_id: str) -> list[BurstEvent]:
    out = []
    for w in range(count):
        record = {"CreatedDate": T0_MS, "CreatedById": user_id, "Workspace_ID__c": f"calls-{w}",
                  "Email__c": f"owner{w}@calls{w % 50}.example.org", "Event_Type__c": kind,
                  "Event_Data__c": json.dumps(DATA[kind]),
                  "Event_Timestamp__c": T0_MS + w * 10_000 + step * 1000}
        out.append(BurstEvent(f"{kind}-{w:08d}-0000-4000-8000-000000000000"[:36], f"calls-{w}",
                              record, True))
    return out


def _create_leads(info: dict[str, Any], count: int) -> int:
    """``count`` Leads created by another client; returns the API calls that took."""
    session = requests.Session()
    session.trust_env = False
    session.verify = info["ca_cert"]
    session.headers.update({"Authorization": f"Bearer {info['access_token']}",
                            "Sforce-Call-Options": f"client={OTHER_CLIENT}"})
    url = f"{info['instance_url']}/services/data/v62.0/composite/sobjects"
    calls = 0
    for start in range(0, count, 200):
        records = [{"attributes": {"type": "Lead"}, "LastName": f"Prospect {n}",
                    "Company": f"Prospect {n} Ltd", "Email": f"prospect{n}@leads.example.org"}
                   for n in range(start, min(count, start + 200))]
        response = session.post(url, json={"allOrNone": True, "records": records}, timeout=60)
        response.raise_for_status()
        calls += 1
    return calls


def _leads_settled(reader: InboxReader, events: int) -> bool:
    """Every Lead change of the other client is in the inbox and nothing is pending (the
    daemon's own Lead changes land on the same topic, so they are not counted)."""
    found = reader.query("SELECT COUNT(*) FROM entries WHERE topic = ? AND change LIKE ?",
                         (LEAD_TOPIC, f"%client={OTHER_CLIENT}%"))
    return bool(found) and found[0][0] >= events and reader.counts(LEAD_TOPIC)[1] == 0


def measure(events: int, work: Path, timeout_s: float) -> dict[str, Any]:
    emulator, info_file = start_emulator_process_with(
        work / "emulator", work / "emulator.log", ["--latency-ms", "0"])
    info = json.loads(info_file.read_text())
    notify = NotifySocket(work / "notify.sock")
    daemon = Daemon(info_file, work / "state", work / "daemon.log", auth="jwt",
                    env={"LIFECYCLE_SYNC_SCHEDULER_ENABLED": "false",
                         "NOTIFY_SOCKET": str(notify.path)})
    publisher = EventPublisher(info)
    reader = InboxReader(work / "state")
    calls: dict[str, dict[str, Any]] = {}
    try:
        daemon.start()
        # start-up's own calls (login, first checks) must not count as the first phase's
        poll(lambda: notify.seen("READY=1"), timeout_s, "READY=1")
        for step, kind in enumerate(("Trial", "Conversion", "Churn")):
            wait_settled(reader, events * step, timeout_s)
            admin(info, "/org/counters/reset", post=True)
            publisher.publish(_events(kind, events, step, info["user_id"]))
            wait_settled(reader, events * (step + 1), timeout_s)
            calls[kind.lower()] = admin(info, "/org/counters")
        admin(info, "/org/counters/reset", post=True)
        own = _create_leads(info, events)
        poll(lambda: _leads_settled(reader, events), timeout_s, "the Lead changes applied",
             interval_s=0.1)
        lead = admin(info, "/org/counters")
        calls["lead_change"] = {"total": lead["total"] - own, "by_kind": lead["by_kind"],
                                "benchmark_calls_subtracted": own}
        exit_code = daemon.terminate(timeout_s=15.0)
    finally:
        reader.close()
        publisher.close()
        daemon.stop_quietly()
        notify.close()
        emulator.terminate()
        emulator.wait(30)
    return _result(events, calls, exit_code)


def _result(events: int, calls: dict[str, dict[str, Any]], exit_code: int) -> dict[str, Any]:
    result: dict[str, Any] = {"events": events}
    for kind in KINDS:
        result[f"{kind}_calls"] = calls[kind]["total"]
        result[f"{kind}_calls_per_event"] = round(calls[kind]["total"] / events, 4)
    result["calls_by_kind"] = {kind: calls[kind]["by_kind"] for kind in KINDS}
    result["daemon_exit_code"] = exit_code
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.api_calls", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1000, help="events per kind")
    parser.add_argument("--json", action="store_true",
                        help="end with one JSON line (the table is printed first either way)")
    parser.add_argument("--timeout-s", type=float, default=300.0,
                        help="give up when a phase is not applied after this long")
    parser.add_argument("--keep", type=Path, default=None, help="keep the work directory here")
    args = parser.parse_args(argv)
    before = load_average()
    with work_dir(args.keep, "lifecycle-sync-calls-") as work:
        result = measure(args.events, work, args.timeout_s)
    result.update(load_avg_before=before, load_avg_after=load_average(), machine=machine())
    emit(result, KEYS, args.json)
    return 0 if result["daemon_exit_code"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
