"""``make demo``: the daemon end to end on the local emulator; exits 0 when all went well.

1. Starts the emulator (Pub/Sub gRPC, REST, OAuth, SOAP over TLS) in a fresh state directory.
2. Starts ``lifecycle-sync run --emulator-info`` as a real subprocess (JWT bearer login).
3. Publishes what production would send: Trial / Conversion / Churn platform events over the
   Pub/Sub API, one test event over REST (as an admin would with simple-salesforce), a Lead
   created by "Marketo" over REST, and that Lead converted with SOAP ``convertLead`` (both
   produce Lead change events).
4. Waits until the daemon has landed every event in its durable inbox and applied it to
   Salesforce, prints the inbox, the resulting records (Workspaces with status, Lead, Account,
   Contact) and the API calls the daemon spent, then ``lifecycle-sync status``; stops the
   daemon with SIGTERM and checks it exited 0.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import fastavro
import grpc
import requests
from simple_salesforce.api import Salesforce

from emulator.server import Emulator, EmulatorSettings
from proto import pubsub_api_pb2 as pb
from proto import pubsub_api_pb2_grpc as pb_grpc
from service.config import inbox_path
from service.demo_report import alert_tasks, print_salesforce
from subscriber import EntryStatus, Inbox

TOPIC = "/event/SelfServeTrialEvent__e"
TOMORROW = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat()
DEMO_EVENTS: tuple[tuple[str, str, dict[str, Any], str, int], ...] = (
    # (workspace, type, Event_Data__c, email, event time offset in ms)
    ("ws-1001", "Trial", {"trial_expiration": "2026-12-09"}, "dana.rivera@mail.acme.co.uk", 0),
    ("ws-1001", "Conversion", {"subscription_id": "sub_9", "plan_type": "Team", "mrr": 490.0},
     "dana.rivera@mail.acme.co.uk", 1),
    ("ws-1002", "Churn", {"churn_date": "2026-11-20", "churn_reason": "budget"},
     "sam@globex.example", 2),
    # Marketo created this person's Lead before the trial: the trial links it, no new Lead.
    ("ws-1004", "Trial", {"trial_expiration": "2026-12-30"}, "pat@initech.example", 3),
    # An out-of-order pair: the conversion arrives first, the (older) trial after it.
    ("ws-1005", "Conversion", {"subscription_id": "sub_5", "plan_type": "Pro", "mrr": 99.0},
     "lee@hooli.example", 10_000),
    ("ws-1005", "Trial", {"trial_expiration": "2026-12-20"}, "lee@hooli.example", 4),
    # Malformed: parked in Event_Cache__c for review, nothing else held up.
    ("ws-1006", "Trial", {"trial_expiration": "next tuesday"}, "kim@umbrella.example", 5),
    # Ends tomorrow: the trial-alerts job gives its owner a Task.
    ("ws-1007", "Trial", {"trial_expiration": TOMORROW}, "ari@stark.example", 6),
)
DEMO_CALLS = 3  # the demo's own REST/SOAP calls after the counters reset (not the daemon's)
EXPECTED = {TOPIC: len(DEMO_EVENTS) + 1, "/data/LeadChangeEvent": 3}
DEADLINE_S = 60.0


def _metadata(info: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return (
        ("accesstoken", info["access_token"]),
        ("instanceurl", info["instance_url"]),
        ("tenantid", info["tenant_id"]),
    )


def _encode(schema: Any, record: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, schema, record)
    return buf.getvalue()


def publish_over_pubsub(info: dict[str, Any]) -> None:
    """Trial, Conversion and Churn, as the product publishes them (gRPC Publish, Avro)."""
    creds = grpc.ssl_channel_credentials(Path(info["ca_cert"]).read_bytes())
    with grpc.secure_channel(info["pubsub_endpoint"], creds) as channel:
        stub = pb_grpc.PubSubStub(channel)
        md = _metadata(info)
        topic = stub.GetTopic(pb.TopicRequest(topic_name=TOPIC), metadata=md)
        schema_json = stub.GetSchema(pb.SchemaRequest(schema_id=topic.schema_id), metadata=md)
        schema = fastavro.parse_schema(json.loads(schema_json.schema_json))
        now_ms = int(time.time() * 1000)
        events = [
            pb.ProducerEvent(id=str(uuid.uuid4()), schema_id=topic.schema_id, payload=_encode(
                schema, {
                    "CreatedDate": now_ms, "CreatedById": info["user_id"],
                    "Workspace_ID__c": ws, "Email__c": email,
                    "Event_Type__c": kind, "Event_Data__c": json.dumps(data),
                    "Event_Timestamp__c": now_ms + offset_ms,
                }))
            for ws, kind, data, email, offset_ms in DEMO_EVENTS
        ]
        response = stub.Publish(pb.PublishRequest(topic_name=TOPIC, events=events), metadata=md)
    failed = [r.error.msg for r in response.results if r.error.msg]
    if failed:
        raise SystemExit(f"demo: publish failed: {failed}")
    print(f"published {len(events)} platform events over the Pub/Sub API")


def salesforce_client(info: dict[str, Any], client_name: str) -> Salesforce:
    """simple-salesforce pointed at the emulator, naming itself in ``Sforce-Call-Options``."""
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would otherwise replace our CA file
    session.verify = info["ca_cert"]
    session.headers["Sforce-Call-Options"] = f"client={client_name}"
    return Salesforce(instance_url=info["instance_url"], session_id=info["access_token"],
                      session=session)


def write_over_rest_and_soap(info: dict[str, Any]) -> None:
    """A test event over REST, a Marketo-made Lead, and its conversion over SOAP."""
    admin = salesforce_client(info, "demo-admin")
    admin.restful("sobjects/SelfServeTrialEvent__e/", method="POST", json={
        "Workspace_ID__c": "ws-1003", "Email__c": "owner@ws-1003.example.com",
        "Event_Type__c": "Trial", "Event_Data__c": '{"trial_expiration": "2026-12-24"}',
    })
    marketo = salesforce_client(info, "marketo")
    lead = marketo.restful("sobjects/Lead/", method="POST", json={
        "LastName": "Rivera", "Company": "Acme", "Email": "dana@acme.example.com",
        "LeadSource": "Marketo",
    })
    assert lead is not None
    print(f"created over REST: 1 platform event, Lead {lead['id']}")
    result = _convert_lead(info, lead["id"])
    print(f"converted over SOAP: Account {result['accountId']}, Contact {result['contactId']}")


def _convert_lead(info: dict[str, Any], lead_id: str) -> dict[str, str]:
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:urn="urn:partner.soap.sforce.com"><soapenv:Header>'
        f"<urn:SessionHeader><urn:sessionId>{info['access_token']}</urn:sessionId>"
        "</urn:SessionHeader><urn:CallOptions><urn:client>demo</urn:client></urn:CallOptions>"
        "</soapenv:Header><soapenv:Body><urn:convertLead><urn:leadConverts>"
        "<urn:convertedStatus>Closed - Converted</urn:convertedStatus>"
        f"<urn:doNotCreateOpportunity>true</urn:doNotCreateOpportunity><urn:leadId>{lead_id}"
        "</urn:leadId></urn:leadConverts></urn:convertLead></soapenv:Body></soapenv:Envelope>"
    )
    response = requests.post(
        info["instance_url"] + "/services/Soap/u/62.0", data=body.encode(),
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'},
        verify=info["ca_cert"], timeout=30,
    )
    response.raise_for_status()
    ns = "{urn:partner.soap.sforce.com}"
    result = ET.fromstring(response.content).find(f".//{ns}result")  # noqa: S314 - our emulator
    if result is None or result.findtext(f"{ns}success") != "true":
        raise SystemExit(f"demo: convertLead failed: {response.text}")
    return {c.tag.removeprefix(ns): c.text or "" for c in result}


def status(state: Path) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "service", "status", "--state", str(state), "--json"],
        capture_output=True, text=True, timeout=30, check=False,
    )
    return json.loads(done.stdout) if done.returncode == 0 else {}


def wait_for_inbox(state: Path, daemon: subprocess.Popen[bytes]) -> None:
    """Poll ``status --json`` until every expected event is stored and applied (or parked)."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        topics = status(state).get("topics", {})
        if all(topics.get(t, {}).get("applied", 0) >= n for t, n in EXPECTED.items()):
            return
        if daemon.poll() is not None:
            raise SystemExit(f"demo: the daemon exited early with {daemon.returncode}")
        time.sleep(0.2)  # polling a condition with a deadline, not synchronising on time
    raise SystemExit(f"demo: events were not applied within {DEADLINE_S:.0f} s")


def print_inbox(state: Path) -> None:
    """What the daemon landed, decoded: event types, and which Lead fields each change touched."""
    with Inbox.open_readonly(inbox_path(state)) as inbox:
        entries = inbox.entries(EntryStatus.APPLIED, limit=100)
    for e in entries:
        if e.change is not None:
            what = (f"{e.change.change_type} {','.join(e.change.record_ids)} by "
                    f"{e.change.change_origin or '-'}: {', '.join(e.change.changed_fields)}")
        else:
            payload = e.payload or {}
            what = f"{payload.get('Event_Type__c')} workspace={payload.get('Workspace_ID__c')}"
        fate = f"  [parked: {e.error[:60]}…]" if e.error else ""
        print(f"  {e.topic:<30} replay_id={e.replay_id.hex()}  {what}{fate}")


def seed_account(info: dict[str, Any]) -> None:
    """An Account the trial's email domain matches (``mail.acme.co.uk`` → ``acme.co.uk``),
    and a Lead Marketo created for ws-1004's user before the trial started."""
    admin = salesforce_client(info, "demo-admin")
    admin.restful("sobjects/Account/", method="POST", json={
        "Name": "Acme Ltd", "Email_Domain__c": "acme.co.uk", "Website": "https://www.acme.co.uk"})
    salesforce_client(info, "marketo").restful("sobjects/Lead/", method="POST", json={
        "LastName": "Pat", "Company": "Initech", "Email": "pat@initech.example",
        "LeadSource": "Marketo"})


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    work = Path(tempfile.mkdtemp(prefix="lifecycle-sync-demo-"))
    with Emulator(EmulatorSettings(state_dir=work / "emulator")) as emulator:
        info_file = work / "emulator-info.json"
        emulator.write_info(info_file)
        info = emulator.info()
        print(f"emulator up: pubsub {info['pubsub_endpoint']}, instance {info['instance_url']}")
        seed_account(info)
        org = emulator.context.org
        assert org is not None
        org.counters.reset()  # from here on: the daemon's calls + DEMO_CALLS
        state = work / "daemon"
        code, calls = run_daemon_through_the_story(info_file, info, state, org)
        print(f"daemon stopped on SIGTERM with exit code {code}")
        if code != 0:
            return 1
        alerted = alert_tasks(info_file, state, salesforce_client(info, "demo-admin"))
        print_salesforce(salesforce_client(info, "demo-admin"), calls,
                         sum(EXPECTED.values()), DEMO_CALLS)
        if not alerted:
            return 1
    print("demo finished OK")
    return 0


def run_daemon_through_the_story(info_file: Path, info: dict[str, Any], state: Path,
                                 org: Any) -> tuple[int, dict[str, Any]]:
    """Start the daemon, publish every event, wait until it landed them all, show the inbox
    and ``status``, stop it; returns its exit code and the org's call counters."""
    daemon = subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "service", "run", "--emulator-info", str(info_file),
         "--state", str(state), "--auth", "jwt"],
        env={**os.environ, "LIFECYCLE_SYNC_SERVICE_LOG_LEVEL": "WARNING"},
    )
    try:
        publish_over_pubsub(info)
        write_over_rest_and_soap(info)
        wait_for_inbox(state, daemon)
        calls: dict[str, Any] = org.counters.snapshot()
        print("the daemon's inbox:")
        print_inbox(state)
        subprocess.run(  # noqa: S603 - our own CLI
            [sys.executable, "-m", "service", "status", "--state", str(state)],
            check=True, timeout=30,
        )
    finally:
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=15)
    return code, calls



if __name__ == "__main__":
    sys.exit(main())
