"""The door every API call passes: session check, daily limit, call counting and logging,
injected faults.

REST and SOAP admit calls the same way, so limits, counters and faults behave identically for
both. :func:`admit` is API-neutral and raises :class:`~emulator.org.errors.ApiError`, which
REST renders as its JSON error list and SOAP as a fault. The order is Salesforce's: an invalid
session is refused first (401, not counted), then a spent allocation (403, not counted); an
admitted call counts even if it later fails.

For SOAP (``emulator/org/soap.py``)::

    try:
        session = admit(org, session_id_from_header, "soap_convertLead")
    except ApiError as exc:
        return soap_fault(exc.code, exc.message)        # INVALID_SESSION_ID, ...
    origin = soap_origin(version, client_from_call_options)
    with org.store.transaction(session.user_id, origin) as tx: ...
    # LimitInfoHeader: org.usage.used(), org.usage.daily_limit
"""

from __future__ import annotations

from dataclasses import dataclass

from werkzeug.wrappers import Request

from emulator.org.errors import ApiError, invalid_session
from emulator.org.limits import LIMIT_MESSAGE
from emulator.org.runtime import Org


@dataclass(frozen=True)
class Session:
    """An admitted caller: the user the token belongs to, and the token itself."""

    user_id: str
    token: str


def admit(org: Org, token: str, kind: str, object_name: str | None = None) -> Session:
    """Check ``token``, spend one API call counted as ``kind``, apply matching request faults.

    Raises ApiError: 401 INVALID_SESSION_ID, 403 REQUEST_LIMIT_EXCEEDED, or an injected fault.
    A stall fault blocks here (until its time passes or faults are cleared), then admits.
    """
    info = org.tokens.check(token)
    if info is None:
        raise invalid_session()
    if not org.usage.try_consume():
        raise ApiError(403, "REQUEST_LIMIT_EXCEEDED", LIMIT_MESSAGE)
    org.counters.count(kind)
    logged = org.requests.arrived(kind, object_name, token)
    org.faults.before_call(kind, object_name)
    org.requests.ran(logged)
    return Session(info.user_id, token)


def bearer_token(request: Request) -> str:
    """The token from ``Authorization: Bearer …`` (or the older ``OAuth …`` scheme)."""
    scheme, _, value = request.headers.get("Authorization", "").strip().partition(" ")
    return value.strip() if scheme.lower() in ("bearer", "oauth") else ""


def call_client(request: Request) -> str:
    """The client name from ``Sforce-Call-Options: client=NAME[, defaultNamespace=…]``."""
    for part in request.headers.get("Sforce-Call-Options", "").split(","):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "client":
            return value.strip()
    return ""


def rest_origin(version: str, client: str) -> str:
    """``changeOrigin`` for a REST write: ``com/salesforce/api/rest/62.0;client=NAME``."""
    return _origin("rest", version, client)


def soap_origin(version: str, client: str) -> str:
    """``changeOrigin`` for a SOAP write: ``com/salesforce/api/soap/62.0;client=NAME``."""
    return _origin("soap", version, client)


def _origin(api: str, version: str, client: str) -> str:
    base = f"com/salesforce/api/{api}/{version}"
    return f"{base};client={client}" if client else base
