"""Admin routes for the reliability suite's faults that need more than :mod:`emulator.admin`.

Kept apart so the core admin module stays about switching the documented faults on and off:

``POST /faults/pubsub/raw`` (``{"topic": ..., "schema_id": ..., "payload_b64": ...,
"event_id": ...}``) appends one event to a topic's store *without* Publish's validation, the
way a damaged or foreign event reaches a subscriber: bytes that are not Avro, a schema ID
GetSchema does not know, a record missing a field the daemon needs. Returns its replay ID.

``POST /faults/tokens/expire-others`` (``{"keep": [token, ...], "abort_streams": true}``)
expires every session but the listed ones (a test's own publisher and REST client keep
working while the daemon's sessions lapse mid-batch), aborting streams as
``/faults/tokens/expire`` does.

``POST /faults/clock`` (``{"offset_s": 300}``) moves the org's clock for OAuth: a JWT
assertion's ``exp`` is checked against ``now + offset_s``. A server clock 5 minutes ahead is
what a client clock 5 minutes slow looks like to Salesforce (simple-salesforce and our JWT
bearer flow set ``exp`` to now + 3 min), without faking the client's time.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any

from werkzeug.exceptions import BadRequest

from emulator.admin import Handler
from emulator.context import EmulatorContext
from emulator.pubsub.store import NewEvent


def _raw_event(ctx: EmulatorContext, body: dict[str, Any]) -> object:
    topic = str(body.get("topic", ""))
    if ctx.bus.store.topic(topic) is None:
        raise BadRequest(f"unknown topic {topic!r}")
    try:
        payload = base64.b64decode(str(body.get("payload_b64", "")), validate=True)
    except binascii.Error as exc:
        raise BadRequest(f"payload_b64 is not base64: {exc}") from exc
    event = NewEvent(str(body.get("event_id") or uuid.uuid4()), str(body.get("schema_id", "")),
                     payload)
    [stored] = ctx.bus.store.append(topic, [event])
    return {"topic": topic, "replay_id": stored.replay_id.hex(), "event_id": stored.event_id}


def _clock(ctx: EmulatorContext, body: dict[str, Any]) -> object:
    if ctx.org is None:
        raise BadRequest("the org is not running")
    try:
        ctx.org.settings.clock_offset_s = float(body.get("offset_s", 0.0))
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"offset_s: {exc}") from exc
    return {"clock_offset_s": ctx.org.settings.clock_offset_s}


def _expire_others(ctx: EmulatorContext, body: dict[str, Any]) -> object:
    keep = body.get("keep", [])
    if not isinstance(keep, list):
        raise BadRequest("keep must be a list of tokens")
    if body.get("abort_streams", False):
        ctx.pubsub_faults.abort_streams_on_expiry.set()
    return {"expired": ctx.tokens.expire_all(keep=tuple(str(t) for t in keep))}


EXTRA_ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", "/faults/pubsub/raw"): _raw_event,
    ("POST", "/faults/clock"): _clock,
    ("POST", "/faults/tokens/expire-others"): _expire_others,
}
