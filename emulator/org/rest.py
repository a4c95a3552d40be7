"""The REST API under ``/services/data/vXX.X/``: routing, admission, transaction, response.

Every request is admitted by :func:`~emulator.org.gate.admit` (session, daily limit, counters,
faults) under a call kind such as ``sobject_create`` or ``collections_upsert``, then runs in its
own record transaction, which commits when the reply is below 400. Every admitted response
carries ``Sforce-Limit-Info``. Composite subrequests go through :func:`dispatch` with the
Composite's transaction and are not admitted (or counted) again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from werkzeug.wrappers import Request, Response

from emulator.org import collections, composite, query, replication, sobjects
from emulator.org.calls import Call, Reply, split_path
from emulator.org.errors import ApiError, DmlError, MultipleMatches, not_found, unexpected_error
from emulator.org.gate import admit, bearer_token, call_client, rest_origin
from emulator.org.limits import limits_body
from emulator.org.runtime import Org

log = logging.getLogger(__name__)
Handler = Callable[[Call], Reply]
JSON_TYPE = "application/json;charset=UTF-8"


@dataclass(frozen=True)
class Route:
    """What a request is: the call kind it counts as, the object it touches, who handles it."""

    kind: str
    object_name: str | None
    handler: Handler


def serve(org: Org, request: Request) -> Response:
    """Answer one HTTP request under ``/services/data/vXX.X/``."""
    try:
        version, segments = split_path(raw_path(request))
    except ApiError as exc:
        return respond(_error(exc), None)
    route: Route | ApiError
    try:
        route = resolve(request.method, segments, request.args.to_dict())
    except ApiError as exc:
        route = exc
    try:
        kind, obj = (route.kind, route.object_name) if isinstance(route, Route) else ("other", None)
        session = admit(org, bearer_token(request), kind, _canonical(org, obj))
    except ApiError as exc:
        return respond(_error(exc), None if exc.status == 401 else org.usage.header())
    origin = rest_origin(version, call_client(request))
    with org.store.transaction(session.user_id, origin) as tx:
        call = Call(org, tx, request.method, version, segments, request.args.to_dict(),
                    dict(request.headers.items()), request.get_data(), dispatch)
        reply = _error(route) if isinstance(route, ApiError) else run(call, route.handler)
        if reply.status >= 400:
            tx.rollback_only()
    return respond(reply, org.usage.header())


def raw_path(request: Request) -> str:
    """The path as the client sent it, percent-encoding intact (``%2F`` is not a separator).

    werkzeug decodes ``PATH_INFO``; its server (like gunicorn and uWSGI) also passes the
    request target undecoded as ``RAW_URI`` / ``REQUEST_URI``.
    """
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if not isinstance(raw, str) or not raw:
        return str(request.path)
    # WSGI carries the request line as latin-1 text; undo that as werkzeug does for PATH_INFO.
    raw = raw.encode("latin-1", "replace").decode("utf-8", "replace")
    return raw.split("?", 1)[0] if raw.startswith("/") else urlsplit(raw).path


def dispatch(call: Call) -> Reply:
    """Route and run a call that is already admitted (a Composite subrequest)."""
    try:
        route = resolve(call.method, call.segments, dict(call.args))
    except ApiError as exc:
        return _error(exc)
    return run(call, route.handler)


def run(call: Call, handler: Handler) -> Reply:
    """Run a handler, turning the org's exceptions into Salesforce's error replies.

    Anything unforeseen becomes Salesforce's 500 UNKNOWN_EXCEPTION (logged with its ErrorId), so
    a Composite subrequest that breaks fails alone and no client ever sees a traceback page.
    """
    try:
        return handler(call)
    except ApiError as exc:
        return _error(exc)
    except DmlError as exc:
        return Reply(400, [e.rest() for e in exc.errors])
    except MultipleMatches as exc:
        return sobjects.multiple_matches_reply(call, exc)
    except Exception:  # the JSON catch-all: never let a handler's bug escape as HTML
        error = unexpected_error()
        log.exception("REST %s %s failed: %s", call.method, "/".join(call.segments), error.message)
        return _error(error)


def respond(reply: Reply, limit_info: str | None) -> Response:
    headers = dict(reply.headers)
    if limit_info:
        headers["Sforce-Limit-Info"] = limit_info
    if reply.body is None:
        return Response(None, status=reply.status, headers=headers)
    text = json.dumps(reply.body, ensure_ascii=False)
    return Response(text, status=reply.status, headers=headers, content_type=JSON_TYPE)


def resolve(method: str, segments: list[str], args: dict[str, str]) -> Route:
    """The route for ``method`` on the path segments after ``vXX.X/``; 404 or 405 otherwise."""
    head, n = (segments[0] if segments else ""), len(segments)
    if n == 0:
        _allow(method, ("GET",))
        return Route("resources", None, _resources)
    if head == "sobjects":
        return _sobjects(method, segments)
    if head in ("query", "queryAll") and n <= 2:
        kind = "query_more" if n == 2 else ("query" if head == "query" else "query_all")
        obj = query.query_object(args.get("q", "")) if n == 1 else None
        _allow(method, ("GET",))
        return Route(kind, obj, query.run_query)
    if head == "limits" and n == 1:
        _allow(method, ("GET",))
        return Route("limits", None, _limits)
    if head == "composite":
        return _composite(method, segments)
    if head == "search" and n == 1:
        _allow(method, ("GET",))
        return Route("search", None, _search)
    raise not_found()


def _sobjects(method: str, segments: list[str]) -> Route:
    n = len(segments)
    obj = segments[1] if n > 1 else None
    if n == 1:
        _allow(method, ("GET",))
        return Route("describe_global", None, sobjects.describe_global)
    if n == 2:
        kinds = {"GET": "sobject_info", "POST": "sobject_create"}
        return _pick(method, kinds, obj, sobjects.object_root)
    if n == 3 and segments[2] == "describe":
        _allow(method, ("GET",))
        return Route("describe_sobject", obj, sobjects.describe)
    if n == 3 and segments[2] in ("deleted", "updated"):
        _allow(method, ("GET",))
        return Route(f"sobject_{segments[2]}", obj, replication.changed_records)
    if n == 3:
        kinds = {"GET": "sobject_get", "PATCH": "sobject_update", "DELETE": "sobject_delete"}
        return _pick(method, kinds, obj, sobjects.record)
    if n == 4:
        kinds = {"GET": "sobject_get", "PATCH": "sobject_upsert", "DELETE": "sobject_delete"}
        return _pick(method, kinds, obj, sobjects.by_external_id)
    raise not_found()


def _composite(method: str, segments: list[str]) -> Route:
    n = len(segments)
    if n == 1:
        _allow(method, ("POST",))
        return Route("composite", None, composite.composite)
    if segments[1] != "sobjects" or n > 4:
        raise not_found()
    if n == 2:
        handlers = {"POST": collections.create, "PATCH": collections.update,
                    "DELETE": collections.delete}
        kinds = {"POST": "collections_create", "PATCH": "collections_update",
                 "DELETE": "collections_delete"}
        _allow(method, tuple(handlers))
        return Route(kinds[method], None, handlers[method])
    if n == 3:
        kinds = {"GET": "collections_retrieve", "POST": "collections_retrieve"}
        return _pick(method, kinds, segments[2], collections.retrieve)
    _allow(method, ("PATCH",))
    return Route("collections_upsert", segments[2], collections.upsert)


def _pick(method: str, kinds: dict[str, str], obj: str | None, handler: Handler) -> Route:
    _allow(method, tuple(kinds))
    return Route(kinds[method], obj, handler)


def _allow(method: str, allowed: tuple[str, ...]) -> None:
    if method not in allowed:
        raise ApiError(405, "METHOD_NOT_ALLOWED",
                       f"HTTP Method '{method}' not allowed. Allowed are {','.join(allowed)}")


def _canonical(org: Org, name: str | None) -> str | None:
    obj = org.catalog.get(name) if name else None
    return obj.name if obj is not None else name


def _error(exc: ApiError) -> Reply:
    return Reply(exc.status, exc.body(), dict(exc.headers))


def _resources(call: Call) -> Reply:
    base = f"/services/data/v{call.version}"
    names = ("sobjects", "query", "queryAll", "limits", "composite")
    return Reply(200, {name: f"{base}/{name}" for name in names})


def _limits(call: Call) -> Reply:
    return Reply(200, limits_body(call.org.usage))


def _search(call: Call) -> Reply:
    """SOSL is not emulated: answer as an org without the feature would, never a bare 404."""
    raise ApiError(403, "FUNCTIONALITY_NOT_ENABLED",
                   "SOSL search (search/) is not available in this org: the emulator does not "
                   "implement SOSL. Use a SOQL query (query/?q=) instead.")
