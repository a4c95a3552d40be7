"""Platform events published over REST: ``POST /sobjects/SelfServeTrialEvent__e/``.

The body is validated like a record, then the event is encoded with the topic's current Avro
schema and appended to ``/event/<Name>`` once the request's transaction commits (our events
are ``PublishAfterCommit``; a rolled-back Composite publishes nothing). Salesforce sets
``CreatedDate`` (epoch ms in the Avro payload) and ``CreatedById``; the REST answer is 201 with
an ``OPERATION_ENQUEUED`` entry whose message is the event's UUID.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from emulator.avro_schemas import avro_value
from emulator.catalog import ObjectDef
from emulator.ids import make_id
from emulator.org.errors import DmlError, ErrorItem
from emulator.org.records import RecordTransaction
from emulator.org.runtime import Org
from emulator.org.validation import field_errors, missing_required, parse_body, unwritable
from emulator.org.writes import now_utc


def publish(org: Org, tx: RecordTransaction, obj: ObjectDef, body: Any) -> tuple[str, ErrorItem]:
    """Validate and schedule one event; returns its publish ID and the OPERATION_ENQUEUED notice."""
    values = parse_body(obj, body)
    blocked = unwritable(obj, values)
    errors = [blocked] if blocked else field_errors(obj, values)
    missing = missing_required(obj, values)
    errors += [missing] if missing else []
    if errors:
        raise DmlError(errors)
    event_uuid = str(uuid.uuid4())
    payload = avro_record(obj, values, tx.user_id, now_utc())
    topic = obj.topic or f"/event/{obj.name}"

    def send() -> None:
        org.bus.publish_record(topic, payload, event_id=event_uuid)

    tx.after_commit(send)
    publish_id = make_id(obj.key_prefix, org.store.next_serial(obj.key_prefix))
    return publish_id, ErrorItem("OPERATION_ENQUEUED", event_uuid, ())


def avro_record(
    obj: ObjectDef, values: dict[str, Any], user_id: str, created: dt.datetime
) -> dict[str, Any]:
    """The Avro record: CreatedDate/CreatedById from the org, each field converted, rest null."""
    record: dict[str, Any] = {"CreatedDate": _epoch_ms(created), "CreatedById": user_id}
    for field in obj.fields:
        if field.name not in record:
            record[field.name] = avro_value(field, values.get(field.name))
    return record


def _epoch_ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)
