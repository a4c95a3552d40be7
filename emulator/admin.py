"""The emulator's admin API: plain HTTP on loopback, JSON in and out, for tests and benchmarks.

It switches faults on and off while the emulator runs and reports counters. It is not part of
Salesforce's surface, so it lives on its own port (``admin_url`` in the info file).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import grpc
from werkzeug.exceptions import BadRequest, HTTPException, NotFound
from werkzeug.wrappers import Request, Response

from emulator.context import EmulatorContext
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
    ctx.pubsub_faults.arm_redeliver(int(body.get("count", 1)))
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


def _clear(ctx: EmulatorContext, body: dict[str, Any]) -> object:
    ctx.pubsub_faults.clear()
    return ctx.pubsub_faults.snapshot()


def _stats(ctx: EmulatorContext, body: dict[str, Any]) -> object:
    store = ctx.bus.store
    return {
        "topics": {t: {"events": store.max_seq(t)} for t in store.topic_names()},
        "faults": ctx.pubsub_faults.snapshot(),
    }


ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", "/faults/pubsub/abort"): _abort,
    ("POST", "/faults/pubsub/cut"): _cut,
    ("POST", "/faults/pubsub/silent"): _silent,
    ("POST", "/faults/pubsub/redeliver"): _redeliver,
    ("POST", "/faults/pubsub/delay"): _delay,
    ("POST", "/faults/tokens/expire"): _expire,
    ("POST", "/faults/clear"): _clear,
    ("POST", "/tokens"): _token,
    ("GET", "/stats"): _stats,
}


def make_admin_app(ctx: EmulatorContext, routes: dict[tuple[str, str], Handler]) -> object:
    """A WSGI app dispatching ``routes``; other parts of the emulator may add routes."""

    @Request.application  # type: ignore[misc]
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
