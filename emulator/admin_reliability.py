"""Admin routes the reliability suite needs beyond ``emulator.admin``'s (tests/reliability).

* ``GET /faults/pubsub``: the armed Pub/Sub faults (has a one-shot abort fired yet?);
* ``POST /faults/pubsub/migrate`` (``{"topic": ..., "shift": N}``): an org migration as
  Salesforce warns of ("replay IDs are not unique across org migrations"): from now on the
  topic's replay IDs repeat ones issued N events earlier, for different events. Streams keep
  their positions; only the IDs they hand out change.
* ``GET /org/requests``: every admitted API call in arrival order (kind, object, caller = a
  digest of the session's token, arrival and run times; :mod:`emulator.org.request_log`);
  ``POST /org/requests/reset`` empties it.
"""

from __future__ import annotations

from typing import Any

from werkzeug.exceptions import BadRequest

from emulator.admin import Handler
from emulator.context import EmulatorContext


def _pubsub_faults(ctx: EmulatorContext, body: dict[str, Any]) -> object:
    return ctx.pubsub_faults.snapshot()


def _migrate(ctx: EmulatorContext, body: dict[str, Any]) -> object:
    store = ctx.bus.store
    found = store.topic(str(body.get("topic", "")))
    if found is None:
        raise BadRequest(f"unknown topic {body.get('topic')!r}")
    shift = int(body.get("shift", 1))
    if shift < 1:
        raise BadRequest("shift must be at least 1")
    store.shift_replay_base(found[0], shift)
    return {"topic": found[0], "next_replay_id": store.replay_id(
        found[0], store.max_seq(found[0]) + 1).hex()}


def _requests(ctx: EmulatorContext, body: dict[str, Any]) -> object:
    if ctx.org is None:
        raise BadRequest("the org is not running")
    return ctx.org.requests.snapshot()


def _requests_reset(ctx: EmulatorContext, body: dict[str, Any]) -> object:
    if ctx.org is None:
        raise BadRequest("the org is not running")
    ctx.org.requests.reset()
    return ctx.org.requests.snapshot()


ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", "/faults/pubsub"): _pubsub_faults,
    ("POST", "/faults/pubsub/migrate"): _migrate,
    ("GET", "/org/requests"): _requests,
    ("POST", "/org/requests/reset"): _requests_reset,
}
