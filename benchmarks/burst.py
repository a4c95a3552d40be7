"""Apply throughput under a burst.

``python -m benchmarks.burst --events 10000 --latency-ms 50 --json``

The emulator runs as its own process with ``--latency-ms`` added to every REST/SOAP request; the
daemon runs as a subprocess; events (see :mod:`benchmarks.burst_events`) are published over
gRPC in batches of 200. Measured from the first publish until every event is applied or parked:
throughput, API calls (the emulator's counters, reset after seeding Accounts), publish→applied
latency per event (the inbox's ``applied_at``), the daemon's peak RSS, events lost (not applied
or parked) and duplicate records in Salesforce. A table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import grpc
import requests
from simple_salesforce.api import Salesforce

from benchmarks.burst_events import BurstEvent, account_domains, mix
from benchmarks.common import load_average, machine, work_dir
from benchmarks.pg_backend import Backend, add_backend_arg, backend
from benchmarks.rig import (
    TRIAL_TOPIC,
    Daemon,
    poll,
    query_inbox,
    start_emulator_process_with,
)
from proto import pubsub_api_pb2 as pb
from proto import pubsub_api_pb2_grpc as pb_grpc
from service.config import inbox_path

PUBLISH_BATCH = 200


def _salesforce(info: dict[str, Any]) -> Salesforce:
    session = requests.Session()
    session.trust_env = False
    session.verify = info["ca_cert"]
    session.headers["Sforce-Call-Options"] = "client=benchmark"
    return Salesforce(instance_url=info["instance_url"], session_id=info["access_token"],
                      session=session)


def _seed_accounts(sf: Salesforce, workspaces: int) -> int:
    names = account_domains(workspaces)
    for start in range(0, len(names), 200):
        records = [{"attributes": {"type": "Account"}, "Name": d.split(".")[0].title(),
                    "Email_Domain__c": d} for d in names[start:start + 200]]
        sf.restful("composite/sobjects", method="POST", json={"allOrNone": True,
                                                               "records": records})
    return len(names)


def _publish(info: dict[str, Any], events: list[BurstEvent]) -> dict[str, float]:
    """Publish in batches; the time each event was sent (epoch seconds)."""
    import io

    import fastavro

    creds = grpc.ssl_channel_credentials(Path(info["ca_cert"]).read_bytes())
    md = (("accesstoken", info["access_token"]), ("instanceurl", info["instance_url"]),
          ("tenantid", info["tenant_id"]))
    sent: dict[str, float] = {}
    with grpc.secure_channel(info["pubsub_endpoint"], creds) as channel:
        stub = pb_grpc.PubSubStub(channel)
        topic = stub.GetTopic(pb.TopicRequest(topic_name=TRIAL_TOPIC), metadata=md)
        text = stub.GetSchema(pb.SchemaRequest(schema_id=topic.schema_id), metadata=md)
        schema = fastavro.parse_schema(json.loads(text.schema_json))
        for start in range(0, len(events), PUBLISH_BATCH):
            batch = []
            for e in events[start:start + PUBLISH_BATCH]:
                buf = io.BytesIO()
                fastavro.schemaless_writer(buf, schema, e.record)
                batch.append(pb.ProducerEvent(id=e.event_id, schema_id=topic.schema_id,
                                              payload=buf.getvalue()))
            now = time.time()
            response = stub.Publish(pb.PublishRequest(topic_name=TRIAL_TOPIC, events=batch),
                                    metadata=md, timeout=60)
            if any(r.error.msg for r in response.results):
                raise RuntimeError("publish failed")
            sent.update({e.id: now for e in batch})
    return sent


def _inbox_rows(state: Path) -> list[tuple[str, str, float | None, str]]:
    return query_inbox(inbox_path(state), "SELECT event_id, status, applied_at, error "
                       "FROM entries WHERE topic = ?", (TRIAL_TOPIC,))


def _admin(info: dict[str, Any], path: str, post: bool = False) -> Any:
    url = info["admin_url"] + path
    response = requests.post(url, json={}, timeout=30) if post else requests.get(url, timeout=30)
    response.raise_for_status()
    return response.json()


def _duplicates(sf: Salesforce) -> int:
    extra = 0
    for soql in ("SELECT Email FROM Lead", "SELECT Email FROM Contact",
                 "SELECT Workspace_ID__c FROM Workspace__c"):
        values = Counter(next(v for k, v in r.items() if k != "attributes")
                         for r in sf.query_all(soql)["records"])
        extra += sum(n - 1 for n in values.values())
    return extra


def measure(events: int, latency_ms: float, work: Path, timeout_s: float,
            store: Backend | None = None) -> dict[str, Any]:
    store = store or Backend("sqlite")
    emulator, info_file = start_emulator_process_with(
        work / "emulator", work / "emulator.log", ["--latency-ms", str(latency_ms)])
    info = json.loads(info_file.read_text())
    daemon = Daemon(info_file, work / "state", work / "daemon.log", env=store.env, auth="jwt")
    rows_of = (lambda state: store.pg_rows(TRIAL_TOPIC)) if store.name == "postgres" \
        else _inbox_rows
    try:
        sf = _salesforce(info)
        burst = mix(events, info["user_id"])
        accounts = _seed_accounts(sf, len({e.workspace_id for e in burst}))
        _admin(info, "/org/counters/reset", post=True)
        daemon.start()
        poll(lambda: store.exists(work / "state"), 60, "the daemon's inbox")
        sent = _publish(info, burst)
        poll(lambda: _finished(rows_of(work / "state"), events), timeout_s,
             "every event applied", interval_s=0.1)
        calls = _admin(info, "/org/counters")
        peak_rss_mb = daemon.peak_rss_mb()
        cpu = {"daemon_cpu_s": _cpu_s(daemon.pid), "emulator_cpu_s": _cpu_s(emulator.pid)}
        rows = rows_of(work / "state")
        duplicates = _duplicates(sf)
        exit_code = daemon.terminate(timeout_s=15.0)
    finally:
        daemon.stop_quietly()
        emulator.terminate()
        emulator.wait(30)
    return {**_result(burst, sent, rows, calls, peak_rss_mb, duplicates, accounts, exit_code,
                      latency_ms), **cpu, "backend": store.name}


def _cpu_s(pid: int) -> float | None:
    """User + system CPU seconds a live process has used (Linux /proc), to show what bounds
    the run: a process near 1 CPU-second per second is the bottleneck (one GIL)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    import os

    return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 1)


def _finished(rows: list[tuple[str, str, float | None, str]], events: int) -> bool:
    return len(rows) >= events and all(status != "pending" for _, status, _, _ in rows)


def _result(burst: list[BurstEvent], sent: dict[str, float], rows: list[Any], calls: dict[str, Any],
            peak_rss_mb: float | None, duplicates: int, accounts: int, exit_code: int,
            latency_ms: float) -> dict[str, Any]:
    applied = {eid: at for eid, status, at, _ in rows if status == "applied" and at}
    latencies = sorted((applied[e] - sent[e]) * 1000 for e in sent if e in applied)
    seconds = max(applied.values()) - min(sent.values())
    n = len(burst)
    return {
        "events": n, "seconds": round(seconds, 3), "events_per_s": round(n / seconds, 1),
        "api_calls": calls["total"], "api_calls_per_event": round(calls["total"] / n, 4),
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))], 1),
        "peak_rss_mb": None if peak_rss_mb is None else round(peak_rss_mb, 1),
        "lost": sum(1 for e in burst if e.event_id not in applied), "duplicates": duplicates,
        "parked": sum(1 for _, status, _, error in rows if status == "applied" and error),
        "workspaces": len({e.workspace_id for e in burst}), "accounts_seeded": accounts,
        "latency_ms": latency_ms, "calls_by_kind": calls["by_kind"],
        "daemon_exit_code": exit_code,
    }


def _table(result: dict[str, Any]) -> str:
    keys = ("events", "workspaces", "seconds", "events_per_s", "api_calls",
            "api_calls_per_event", "p50_ms", "p99_ms", "peak_rss_mb", "lost", "duplicates",
            "parked", "latency_ms", "daemon_cpu_s", "emulator_cpu_s", "load_avg_before",
            "load_avg_after")
    width = max(len(k) for k in keys)
    lines = [f"{k:<{width}}  {result[k]}" for k in keys]
    lines.append(f"{'calls_by_kind':<{width}}  {result['calls_by_kind']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.burst", description=__doc__)
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--latency-ms", type=float, default=50.0,
                        help="latency the emulator adds to every REST/SOAP request")
    parser.add_argument("--json", action="store_true",
                        help="end with one JSON line (the table is printed first either way)")
    parser.add_argument("--timeout-s", type=float, default=900.0)
    parser.add_argument("--keep", type=Path, default=None, help="keep the work directory here")
    add_backend_arg(parser)
    args = parser.parse_args(argv)
    before = load_average()
    with backend(args.backend) as store, work_dir(args.keep, "lifecycle-sync-burst-") as work:
        result = measure(args.events, args.latency_ms, work, args.timeout_s, store)
    result.update(load_avg_before=before, load_avg_after=load_average(), machine=machine(),
                  goals={"events_per_s_ge_1000": result["events_per_s"] >= 1000,
                         "api_calls_per_event_le_0.03": result["api_calls_per_event"] <= 0.03})
    print(_table(result))
    if args.json:
        print(json.dumps(result))
    return 0 if result["lost"] == 0 and result["duplicates"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
