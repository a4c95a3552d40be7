"""The org's WSGI application, served over HTTPS at ``instance_url`` (any Host header).

Paths: ``/services/oauth2/token`` and ``userinfo``, the identity URL ``/id/{org}/{user}``,
``/services/data`` (API versions) and the REST API below it, and the SOAP partner endpoint
``/services/Soap/u/…`` (:func:`emulator.org.soap.handle_soap`). Every request first waits the
configured latency.
"""

from __future__ import annotations

import json
import logging

from werkzeug.wrappers import Request, Response

from emulator.context import EmulatorContext
from emulator.org import oauth, rest, soap, users
from emulator.org.api_limits import MAX_URI_AND_HEADERS_BYTES, uri_and_headers_status
from emulator.org.calls import NEWEST_VERSION, OLDEST_VERSION
from emulator.org.errors import NOT_FOUND_MESSAGE, unexpected_error
from emulator.org.runtime import Org

log = logging.getLogger(__name__)
_SEASONS = ("Winter", "Spring", "Summer")


def make_org_app(ctx: EmulatorContext) -> object:
    """Build the WSGI app over ``ctx.org``."""
    org = ctx.org
    if org is None:
        raise RuntimeError("the org must be built before its app")

    @Request.application
    def app(request: Request) -> Response:
        org.pause()
        too_large = _oversized(request)
        if too_large is not None:
            return too_large
        try:
            return route(org, request)
        except Exception:  # last resort: Salesforce's JSON 500, never werkzeug's HTML page
            error = unexpected_error()
            log.exception("%s %s failed: %s", request.method, request.path, error.message)
            return _json(error.status, error.body())

    return app


def route(org: Org, request: Request) -> Response:
    path = request.path.rstrip("/") or "/"
    if path == "/services/data":
        return _json(200, versions())
    if path.startswith("/services/data/"):
        return rest.serve(org, request)
    if path == "/services/oauth2/token":
        if request.method != "POST":
            refusal = {"error": "invalid_request", "error_description": "must use HTTP POST"}
            return _json(405, refusal)
        return oauth.token(org, request)
    if path == "/services/oauth2/userinfo":
        return users.userinfo(org, request)
    parts = path.split("/")
    if len(parts) == 4 and parts[1] == "id":
        return users.identity(org, request, parts[2], parts[3])
    if path.startswith("/services/Soap/"):
        answer = soap.handle_soap(org, request)
        if answer is not None:
            return answer
    return _json(404, [{"errorCode": "NOT_FOUND", "message": NOT_FOUND_MESSAGE}])


_TOO_LARGE = {
    414: ("URI_TOO_LONG", "URI Too Long"),
    431: ("REQUEST_HEADER_FIELDS_TOO_LARGE", "Request Header Fields Too Large"),
}


def _oversized(request: Request) -> Response | None:
    """414 or 431 past the 16,384-byte URI + headers limit (Help article 000386264).

    The status codes are documented; the JSON body is the emulator's guess (README lists it).
    """
    target = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if not isinstance(target, str) or not target:
        query = request.query_string.decode("latin-1")
        target = request.path + (f"?{query}" if query else "")
    status = uri_and_headers_status(target, request.headers.items())
    if status is None:
        return None
    code, reason = _TOO_LARGE[status]
    message = f"{reason}: the URI and headers may hold at most {MAX_URI_AND_HEADERS_BYTES} bytes"
    return _json(status, [{"errorCode": code, "message": message}])


def versions() -> list[dict[str, str]]:
    """``/services/data``: every API version served, oldest first, with its release label."""
    out = []
    for number in range(int(OLDEST_VERSION), int(NEWEST_VERSION) + 1):
        steps = number - 62
        season, year = _SEASONS[steps % 3], 25 + steps // 3
        out.append({"label": f"{season} '{year:02d}", "url": f"/services/data/v{number}.0",
                    "version": f"{number}.0"})
    return out


def _json(status: int, body: object) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json;charset=UTF-8")
