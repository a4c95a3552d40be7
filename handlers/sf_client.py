"""The one HTTP door to Salesforce: session, timeouts, retries and error mapping.

Every request goes through a ``requests.Session`` with ``trust_env`` off (``REQUESTS_CA_BUNDLE``
and proxies would otherwise silently replace our CA and routing), ``verify`` set to the
configured CA, an explicit ``(connect, read)`` timeout and ``Sforce-Call-Options:
client=<name>``, so the Lead change events our own writes cause can be recognised and
ignored. REST and SOAP (``convertLead``) are plain requests on that session, with the current
bearer token: simple-salesforce (with zeep and lxml, ~9 MB of the daemon's RSS) is not needed
for the handful of calls the daemon makes.

Failures of a whole call are mapped once, here: 5xx, timeouts and connection errors retry
with jittered exponential backoff (tenacity) when the call is idempotent, and otherwise raise
:class:`TransientError` so the cycle re-reads before trying again; 403
``REQUEST_LIMIT_EXCEEDED`` raises :class:`RequestLimited`; 401 ``INVALID_SESSION_ID``
refreshes the shared session once (the same single-flight provider the Pub/Sub streams use)
and repeats the call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import requests
from tenacity import (
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from handlers import soap_convert
from handlers.errors import CallRejected, GatewayError, RequestLimited, TransientError

log = logging.getLogger(__name__)
T = TypeVar("T")


class SessionLike(Protocol):
    @property
    def access_token(self) -> str: ...

    @property
    def instance_url(self) -> str: ...


class SessionSource(Protocol):
    """What :class:`subscriber.auth.SessionProvider` offers: the shared, refreshable session."""

    def current(self) -> SessionLike: ...

    def refresh(self, stale_token: str) -> SessionLike: ...


@dataclass(frozen=True)
class ClientSettings:
    client_name: str = "lifecycle-sync"
    api_version: str = "62.0"
    ca_file: Path | None = None
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 120.0
    attempts: int = 3  # per idempotent call, on 5xx / timeouts / connection errors
    backoff_max_s: float = 8.0


class GuardedSession(requests.Session):
    """A ``requests.Session`` that runs ``guard`` before sending each request.

    Every HTTP request of a client goes through ``send``: each REST chunk, each retried
    attempt, the repeat after a session refresh, the SOAP post and any redirect. The failover
    fence (:meth:`subscriber.pg_lease.Lease.require_trusted`) is checked here, so a process
    whose lease trust window has closed starts no further request, and each one it did start
    is bounded by the request timeout: the bound a new active waits out before writing."""

    def __init__(self, guard: Callable[[], None]) -> None:
        super().__init__()
        self._guard = guard

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self._guard()  # raises (LeaseLost) before a single byte leaves
        return super().send(request, **kwargs)


class SalesforceClient:
    """REST and SOAP calls with the project's transport rules; thread-compatible, not shared.
    ``guard``: run before every HTTP request; raising refuses it (:class:`GuardedSession`)."""

    def __init__(self, sessions: SessionSource, settings: ClientSettings,
                 guard: Callable[[], None] | None = None) -> None:
        self._sessions = sessions
        self.settings = settings
        self._http = requests.Session() if guard is None else GuardedSession(guard)
        self._http.trust_env = False
        self._http.verify = str(settings.ca_file) if settings.ca_file else True
        self._http.headers["Sforce-Call-Options"] = f"client={settings.client_name}"
        self._token = ""
        self._retrying = retry(
            retry=retry_if_exception_type(TransientError),
            stop=stop_after_attempt(max(1, settings.attempts)),
            wait=wait_random_exponential(multiplier=0.25, max=settings.backoff_max_s),
            reraise=True,
        )

    @property
    def api_path(self) -> str:
        return f"/services/data/v{self.settings.api_version}"

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.settings.connect_timeout_s, self.settings.read_timeout_s)

    def close(self) -> None:
        self._http.close()

    def on_response(self, callback: Callable[[requests.Response], None]) -> None:
        """Also call ``callback`` with every HTTP response (metrics read Sforce-Limit-Info)."""

        def hook(response: requests.Response, *args: Any, **kwargs: Any) -> None:
            callback(response)

        self._http.hooks["response"].append(hook)

    def rest(self, method: str, path: str, body: Any = None, *, idempotent: bool,
             headers: Mapping[str, str] | None = None) -> Any:
        """``method`` on ``/services/data/vXX.X/<path>``; the parsed JSON body (or None).
        ``headers``: extra request headers (``Sforce-Auto-Assign``)."""
        extra = dict(headers or {})

        def once() -> Any:
            return self._authenticated(
                lambda: self._json(method, f"{self.api_path}/{path}", body, extra))
        return self._retrying(once)() if idempotent else once()

    def rest_url(self, url: str) -> Any:
        """GET a path Salesforce returned (``nextRecordsUrl``); idempotent."""
        def once() -> Any:
            return self._authenticated(lambda: self._json("GET", url))
        return self._retrying(once)()

    def soap(self, body_xml: Callable[[str], bytes]) -> bytes:
        """POST a partner SOAP envelope built for the current token; the response body."""
        def call() -> bytes:
            session = self._session()
            self._token = session.access_token
            url = f"{session.instance_url}/services/Soap/u/{self.settings.api_version}"
            response = self._http.post(
                url, data=body_xml(self._token), timeout=self.timeout,
                headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})
            _raise_for_soap(response)
            return response.content
        return self._authenticated(call)

    def _session(self) -> SessionLike:
        return self._sessions.current()

    def _json(self, method: str, path: str, body: Any = None,
              headers: Mapping[str, str] | None = None) -> Any:
        """``method`` on the instance's ``path`` with the current token; the JSON answer (None
        for an empty one, as simple-salesforce gave); a status of 300 or more raises."""
        session = self._session()
        self._token = session.access_token
        response = self._http.request(
            method, f"{session.instance_url}{path}", json=body, timeout=self.timeout,
            headers={"Content-Type": "application/json",
                     "Authorization": f"Bearer {session.access_token}", **(headers or {})})
        if response.status_code >= 300:
            raise classify(response.status_code, _content(response))
        if response.status_code == 204 or not response.content:
            return None
        answer = response.json()  # not JSON: ValueError, mapped to TransientError
        return answer or None

    def _authenticated(self, call: Callable[[], T]) -> T:
        """Run ``call``; on INVALID_SESSION_ID refresh the shared session once and repeat."""
        try:
            return _mapped(call)
        except _SessionRejected:
            log.info("Salesforce rejected the session; refreshing it once")
            self._sessions.refresh(self._token)
            return _mapped(call)


class RestClient(Protocol):
    def rest(self, method: str, path: str, body: Any = None, *, idempotent: bool) -> Any: ...


def post_composite(client: RestClient, subrequests: list[dict[str, Any]], *, all_or_none: bool,
                   idempotent: bool) -> list[dict[str, Any]]:
    """One Composite request (the apply gateway and the scheduled jobs both send them, written
    once here); its ``compositeResponse`` entries."""
    answer = client.rest("POST", "composite",
                         {"allOrNone": all_or_none, "compositeRequest": subrequests},
                         idempotent=idempotent)
    if not isinstance(answer, dict):
        raise CallRejected("composite answered without a body")
    return list(answer.get("compositeResponse", []))


class _SessionRejected(GatewayError):
    error_class = "INVALID_SESSION_ID"


def _mapped(call: Callable[[], T]) -> T:
    """Run ``call`` and turn transport exceptions into ours."""
    try:
        return call()
    # A body cut off mid-way (ChunkedEncodingError: the connection dropped before the
    # promised length) or one its Content-Encoding cannot decode is the network's fault,
    # like a timeout: retried, never the unmapped exception that stops the daemon.
    except (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError) as exc:
        raise TransientError(f"{type(exc).__name__} talking to Salesforce") from None
    except ValueError:  # a body that is not JSON (a proxy's HTML page, a cut-off answer)
        raise TransientError("Salesforce answered with a body that is not JSON") from None


def classify(status: int, content: Any) -> GatewayError:
    """The error for a failed call, from its status and body (never echoing the URL)."""
    code, message = _first_error(content)
    if status == 401:
        return _SessionRejected(code or "INVALID_SESSION_ID")
    if code == "REQUEST_LIMIT_EXCEEDED":
        return RequestLimited(f"{code}: {message}")
    if status >= 500 or code in ("UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE"):
        return TransientError(f"HTTP {status} {code}: {message}".strip())
    return CallRejected(f"HTTP {status} {code}: {message}".strip(), code)


def _content(response: requests.Response) -> Any:
    """A failed call's body: parsed JSON (Salesforce's error list), else its text."""
    try:
        return response.json()
    except ValueError:
        return response.text


def _first_error(content: Any) -> tuple[str, str]:
    if isinstance(content, list) and content and isinstance(content[0], dict):
        first = content[0]
        return str(first.get("errorCode") or ""), str(first.get("message") or "")[:300]
    return "", str(content)[:300]


def _raise_for_soap(response: requests.Response) -> None:
    """Map a failed SOAP call by its fault's code (``sf:exceptionCode`` / ``faultcode``), never
    by the raw envelope; a body that is no SOAP fault is a transient failure."""
    if response.status_code < 300:
        return
    parsed = soap_convert.fault(response.content)
    if parsed is None:
        raise TransientError(f"SOAP HTTP {response.status_code} without a SOAP fault")
    code, message = parsed
    if code == "INVALID_SESSION_ID":
        raise _SessionRejected(code)
    if code == "REQUEST_LIMIT_EXCEEDED":
        raise RequestLimited(f"{code}: {message}")
    transient = ("UNKNOWN_EXCEPTION", "SERVER_UNAVAILABLE", "UNABLE_TO_LOCK_ROW")
    if code in transient or (response.status_code >= 500 and not code):
        raise TransientError(f"SOAP HTTP {response.status_code} {code}: {message}".strip())
    raise CallRejected(f"SOAP fault {code}: {message}".strip(), code)
