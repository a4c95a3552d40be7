"""``lifecycle-sync publish trial|conversion|churn``: one test ``SelfServeTrialEvent__e``.

For an admin trying the daemon end to end: the event goes through the Pub/Sub API's
``Publish`` RPC exactly as the product publishes it (same login, same schema, Avro), and the
replay ID Salesforce assigned is printed. ``Event_Data__c`` gets sensible test values for its
type unless ``--data`` gives them; ``--at`` sets the event time (out-of-order tests).

Exit codes: 0 published; 64 (EX_USAGE) bad --data or --at; 65 (EX_DATAERR) Salesforce
refused the event; 69 (EX_UNAVAILABLE) login or Pub/Sub unreachable or refused; 78 invalid
configuration.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import sys
import uuid
from typing import Any

from service.config import Config
from service.run_cmd import EX_CONFIG, config_or_report, config_source_args

EX_USAGE = 64
EX_DATAERR = 65
EX_UNAVAILABLE = 69
TOPIC = "/event/SelfServeTrialEvent__e"
PLACEHOLDER_USER = "005000000000000AAA"  # Salesforce sets CreatedById itself on publish


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "publish", help="publish a test trial, conversion or churn event over Pub/Sub",
        description="Publishes one SelfServeTrialEvent__e through the Pub/Sub API Publish "
                    "RPC with the daemon's own login and prints the replay ID Salesforce "
                    "gave it. A running daemon then applies it like any product event.",
        epilog="exit codes: 0 published, 64 bad --data or --at, 65 Salesforce refused the "
               "event, 69 login or Pub/Sub unavailable, 78 invalid configuration")
    p.add_argument("type", choices=("trial", "conversion", "churn"))
    p.add_argument("--workspace-id", required=True, help="Workspace_ID__c")
    p.add_argument("--email", required=True, help="Email__c (the product user's address)")
    p.add_argument("--data", metavar="JSON",
                   help="Event_Data__c as a JSON object (default: test values for the type, "
                        "e.g. trial_expiration 14 days ahead)")
    p.add_argument("--at", metavar="TIME",
                   help="Event_Timestamp__c as ISO 8601, e.g. 2026-11-30T09:00:00Z "
                        "(default: now)")
    config_source_args(p)
    p.set_defaults(func=_publish)


def default_data(kind: str, workspace_id: str, today: dt.date) -> dict[str, Any]:
    """Valid test values for each event type."""
    if kind == "trial":
        return {"trial_expiration": (today + dt.timedelta(days=14)).isoformat()}
    if kind == "conversion":
        return {"subscription_id": f"sub-test-{workspace_id}", "plan_type": "Team",
                "mrr": 99.0}
    return {"churn_date": today.isoformat(), "churn_reason": "test"}


def event_time(text: str | None) -> dt.datetime:
    """``--at`` (ISO 8601; naive means UTC), or now."""
    if text is None:
        return dt.datetime.now(dt.UTC)
    at = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def _publish(args: argparse.Namespace) -> int:
    try:
        data = json.loads(args.data) if args.data else None
        if data is not None and not isinstance(data, dict):
            raise ValueError("--data must be a JSON object")
        at = event_time(args.at)
    except ValueError as exc:
        print(f"lifecycle-sync publish: {exc}", file=sys.stderr)
        return EX_USAGE
    config = config_or_report(args)
    if config is None:
        return EX_CONFIG
    record = {
        "Workspace_ID__c": args.workspace_id, "Email__c": args.email,
        "Event_Type__c": args.type.capitalize(),
        "Event_Data__c": json.dumps(data if data is not None else
                                    default_data(args.type, args.workspace_id, at.date())),
        "Event_Timestamp__c": int(at.timestamp() * 1000),
    }
    return publish_record(config, record)


def publish_record(config: Config, record: dict[str, Any]) -> int:
    """Publish one event; print its replay ID. Returns the exit code."""
    import fastavro

    from proto import pubsub_api_pb2 as pb
    from service.connections import intake_settings, session_provider
    from subscriber.channel import PubSubClient, open_channel
    from subscriber.errors import SubscriberError

    settings = intake_settings(config)
    channel = open_channel(settings)
    client = PubSubClient(channel, session_provider(config), settings.rpc_timeout_s)
    try:
        topic = client.get_topic(TOPIC)
        schema = fastavro.parse_schema(json.loads(client.get_schema(topic.schema_id)))
        now_ms = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, schema, {
            "CreatedDate": now_ms, "CreatedById": PLACEHOLDER_USER, **record})
        event = pb.ProducerEvent(id=str(uuid.uuid4()), schema_id=topic.schema_id,
                                 payload=buf.getvalue())
        response = client.publish(TOPIC, [event])
    except SubscriberError as exc:
        print(f"lifecycle-sync publish: {exc}", file=sys.stderr)
        return EX_UNAVAILABLE
    finally:
        client.close()
        channel.close()
    result = response.results[0]
    if result.error.msg:
        print(f"lifecycle-sync publish: Salesforce refused the event: {result.error.msg}",
              file=sys.stderr)
        return EX_DATAERR
    print(f"published {record['Event_Type__c']} for workspace {record['Workspace_ID__c']}: "
          f"replay ID {result.replay_id.hex()}")
    return 0
