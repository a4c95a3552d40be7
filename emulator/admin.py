"""The emulator's admin API: plain HTTP on loopback, JSON in and out, for tests and benchmarks.

It switches faults on and off while the emulator runs and reports counters. It is not part of
Salesforce's surface, so it lives on its own port (``admin_url`` in the info file).

Org (REST/SOAP) routes: ``POST /faults/org`` arms a fault (``{"fault": "server_error" |
"unavailable" | "request_limit" | "unable_to_lock_row" | "stall", "kind": "sobject_upsert",
"object": "Lead", "times": 1}``), ``POST /faults/org/clear``; ``GET /org/counters`` (API calls
by kind) and ``POST /org/counters/reset``; ``GET|POST /org/settings`` (``latency_ms``,
``query_batch_size``, ``daily_api_limit``); ``GET /org/limits``, ``POST /org/limits/reset``;
``POST /org/assignment-rules`` (a Lead assignment rule and/or Lead Settings' default owner:
:mod:`emulator.org.assignment`) and ``POST /org/assignment-rules/clear``.

``GET /pubsub/deliveries`` (events sent per topic, redeliveries) and
``POST /pubsub/deliveries/reset``.

``POST /faults/cdc/gap`` (``{"object": "Lead", "change_type": "GAP_UPDATE" | … |
"GAP_OVERFLOW", "record_ids": [...]}``) publishes a header-only gap or overflow change event.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import grpc
from werkzeug.exceptions import BadRequest, HTTPException, NotFound
from werkzeug.wrappers import Request, Response

from emulator.context import EmulatorContext
from emulator.org.assignment import entries_from_json, mirror
from emulator.org.cdc_gaps import publish_gap_event
from emulator.org.faults import FaultRule
from emulator.org.runtime import Org
from emulator.pubsub.faults import AbortPlan

Handler = Callable[[EmulatorContext, dict[str, Any]], object]


def _abort(ctx: EmulatorContext, body: dict[str, Any]) -> object:
    try:
        code = grpc.StatusCode[str(body.get("status", "UNAVAILABLE")).upper()]
    except KeyError as exc:
        raise BadRequest(f"unknown gRPC status {body.get('status')!r}") from exc
    plan = AbortPlan(
        after_events=int(body.get("after_events", 0)),
        code=code,
        error_code=str(body.get("error_code", "sfdc.platform.eventbus.grpc.service.unavailable")),
        message=str(body.get("message", "injected fault")),
        topic=str(body.get("topic", "")),
        new_streams_only=bool(body.get("new_streams_only", False)),
    )
    ctx.pubsub_faults.arm_abort(plan)
    return ctx.pubsub_faults.snapshot()


def _cut(ctx: EmulatorContext, body: dict[str, Any]) -> object:
    cut = ctx.extras["cut_connections"]
    assert callable(cut)
    return {"cut": cut()}


def _silent(ctx: EmulatorContext, body: dict[str, Any]) -> object:
    if body.get("on", True):
        ctx.pubsub_faults.silent.set()
    else:
        ctx.pubsub_faults.silent.clear()
    return ctx.pubsub_faults.snapshot()


def _redeliver(ctx: EmulatorContext, body: dict[str, Any]) -> object:
    ctx.pubsub_faults.arm_redeliver(int(body.get("count", 1)), str(body.get("topic", "")))
    return ctx.pubsub_faults.snapshot()


def _delay(ctx: EmulatorContext, body: dict[str, Any]) -> object:
    ctx.pubsub_faults.delay_s = float(body.get("delay_ms", 0)) / 1000.0
    return ctx.pubsub_faults.snapshot()


def _expire(ctx: EmulatorContext, body: dict[str, Any]) -> object:
    if body.get("abort_streams", False):
        ctx.pubsub_faults.abort_streams_on_expiry.set()
    return {"expired": ctx.tokens.expire_all()}


def _token(ctx: EmulatorContext, body: dict[str, Any]) -> object:
    lifetime = body.get("lifetime_s")
    token, info = ctx.tokens.issue(
        ctx.identity.integration_user_id, None if lifetime is None else float(lifetime)
    )
    return {"access_token": token, "expires_ms": info.expires_ms}


def _deliveries(ctx: EmulatorContext, body: dict[str, Any]) -> object:
    return ctx.pubsub_faults.deliveries.snapshot()


def _deliveries_reset(ctx: EmulatorContext, body: dict[str, Any]) -> object:
    ctx.pubsub_faults.deliveries.reset()
    return ctx.pubsub_faults.deliveries.snapshot()


def _clear(ctx: EmulatorContext, body: dict[str, Any]) -> object:
    """Clear every fault, Pub/Sub and org alike (releasing stalled org requests)."""
    ctx.pubsub_faults.clear()
    _org(ctx).faults.clear()
    return ctx.pubsub_faults.snapshot()


def _stats(ctx: EmulatorContext, body: dict[str, Any]) -> object:
    store = ctx.bus.store
    org = _org(ctx)
    return {
        "topics": {t: {"events": store.max_seq(t)} for t in store.topic_names()},
        "faults": ctx.pubsub_faults.snapshot(),
        "org": {"calls": org.counters.snapshot(), "api_usage": org.usage.used(),
                "daily_api_limit": org.usage.daily_limit, "faults": org.faults.snapshot()},
    }


# -- the org (REST/SOAP) half ------------------------------------------------------------

_RULE_KEYS = ("effect", "kind", "object", "status", "error_code", "message", "times", "stall_s",
              "record_ids")


def _org(ctx: EmulatorContext) -> Org:
    if ctx.org is None:
        raise BadRequest("the org is not running")
    return ctx.org


def _org_fault(ctx: EmulatorContext, body: dict[str, Any]) -> object:
    """Arm an org fault: ``{"fault": preset}`` or ``{"effect": ...}``, plus kind/object/times."""
    overrides = {k: body[k] for k in _RULE_KEYS if k in body}
    faults = _org(ctx).faults
    try:
        if "fault" in body:
            rule = faults.arm_preset(str(body["fault"]), **overrides)
        else:
            rule = faults.arm(FaultRule(**overrides))
    except (KeyError, TypeError) as exc:
        raise BadRequest(str(exc)) from exc
    return {"rule": asdict(rule), "rules": faults.snapshot()}


def _org_faults(ctx: EmulatorContext, body: dict[str, Any]) -> object:
    return {"rules": _org(ctx).faults.snapshot()}


def _org_faults_clear(ctx: EmulatorContext, body: dict[str, Any]) -> object:
    _org(ctx).faults.clear()
    return {"rules": []}


def _org_counters(ctx: EmulatorContext, body: dict[str, Any]) -> object:
    return _org(ctx).counters.snapshot()


def _org_counters_reset(ctx: EmulatorContext, body: dict[str, Any]) -> object:
    _org(ctx).counters.reset()
    return _org(ctx).counters.snapshot()


def _org_settings(ctx: EmulatorContext, body: dict[str, Any]) -> object:
    """Read or change latency_ms, query_batch_size and daily_api_limit while running."""
    org = _org(ctx)
    if "latency_ms" in body:
        org.settings.latency_ms = float(body["latency_ms"])
    if "query_batch_size" in body:
        org.settings.query_batch_size = max(1, int(body["query_batch_size"]))
    if "daily_api_limit" in body:
        org.usage.daily_limit = int(body["daily_api_limit"])
    return {**asdict(org.settings), "daily_api_limit": org.usage.daily_limit}


def _assignment_rule(ctx: EmulatorContext, body: dict[str, Any]) -> object:
    """Add a Lead assignment rule (``{"name", "active", "entries": [...]}``) and/or set Lead
    Settings' default owner (``"default_lead_owner"``); see :mod:`emulator.org.assignment`."""
    rules = _org(ctx).assignment
    out: dict[str, Any] = {}
    try:
        if "default_lead_owner" in body:
            rules.default_lead_owner = str(body["default_lead_owner"] or "") or None
        if "entries" in body:
            rule = rules.add(str(body.get("name") or "Lead assignment"),
                             str(body.get("object") or "Lead"), bool(body.get("active", True)),
                             entries_from_json(body["entries"]))
            out["id"] = rule.id
    except (KeyError, TypeError, ValueError) as exc:
        raise BadRequest(str(exc)) from exc
    _mirror_rules(ctx)
    return out


def _assignment_rules_clear(ctx: EmulatorContext, body: dict[str, Any]) -> object:
    _org(ctx).assignment.clear()
    _mirror_rules(ctx)
    return {}


def _mirror_rules(ctx: EmulatorContext) -> None:
    org = _org(ctx)
    mirror(org.assignment, org.store, ctx.identity.integration_user_id)


def _org_limits(ctx: EmulatorContext, body: dict[str, Any]) -> object:
    org = _org(ctx)
    return {"api_usage": org.usage.used(), "daily_api_limit": org.usage.daily_limit}


def _org_limits_reset(ctx: EmulatorContext, body: dict[str, Any]) -> object:
    _org(ctx).usage.reset()
    return _org_limits(ctx, body)


def _cdc_gap(ctx: EmulatorContext, body: dict[str, Any]) -> object:
    try:
        event = publish_gap_event(
            ctx.bus, ctx.catalog, str(body.get("object", "Lead")),
            str(body.get("change_type", "GAP_UPDATE")), list(body.get("record_ids", [])),
            ctx.identity.integration_user_id,
        )
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    return {"topic": event.topic, "replay_id": event.replay_id.hex()}


ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", "/faults/cdc/gap"): _cdc_gap,
    ("POST", "/faults/pubsub/abort"): _abort,
    ("POST", "/faults/pubsub/cut"): _cut,
    ("POST", "/faults/pubsub/silent"): _silent,
    ("POST", "/faults/pubsub/redeliver"): _redeliver,
    ("POST", "/faults/pubsub/delay"): _delay,
    ("POST", "/faults/tokens/expire"): _expire,
    ("POST", "/faults/clear"): _clear,
    ("GET", "/pubsub/deliveries"): _deliveries,
    ("POST", "/pubsub/deliveries/reset"): _deliveries_reset,
    ("POST", "/tokens"): _token,
    ("GET", "/stats"): _stats,
    ("POST", "/faults/org"): _org_fault,
    ("GET", "/faults/org"): _org_faults,
    ("POST", "/faults/org/clear"): _org_faults_clear,
    ("GET", "/org/counters"): _org_counters,
    ("POST", "/org/counters/reset"): _org_counters_reset,
    ("GET", "/org/settings"): _org_settings,
    ("POST", "/org/settings"): _org_settings,
    ("GET", "/org/limits"): _org_limits,
    ("POST", "/org/assignment-rules"): _assignment_rule,
    ("POST", "/org/assignment-rules/clear"): _assignment_rules_clear,
    ("POST", "/org/limits/reset"): _org_limits_reset,
}


def make_admin_app(ctx: EmulatorContext, routes: dict[tuple[str, str], Handler]) -> object:
    """A WSGI app dispatching ``routes``; other parts of the emulator may add routes."""

    @Request.application
    def app(request: Request) -> Response:
        try:
            handler = routes.get((request.method, request.path.rstrip("/")))
            if handler is None:
                raise NotFound(f"no admin route {request.method} {request.path}")
            body = request.get_json(silent=True) or {}
            if not isinstance(body, dict):
                raise BadRequest("the body must be a JSON object")
            return Response(json.dumps(handler(ctx, body)), mimetype="application/json")
        except HTTPException as exc:
            return Response(
                json.dumps({"error": exc.description}), status=exc.code, mimetype="application/json"
            )

    return app
