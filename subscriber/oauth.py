"""OAuth 2.0 flows against ``{login_url}/services/oauth2/token``, each a :class:`TokenSource`.

JWT bearer is the recommended server-to-server flow; client credentials is the other supported
one; username-password is legacy (blocked by default in orgs created since Summer '23). The org
ID comes from the ``id`` URL of the token response (``.../id/{orgId}/{userId}``) or, when that
is missing, from ``/services/oauth2/userinfo``. HTTP failures are translated here, once:
credentials rejected (4xx) become :class:`Fatal`, everything else :class:`RetryLater`. Secrets
are sent, never logged; error messages carry only Salesforce's ``error`` and description.
"""

from __future__ import annotations

import socket
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests

from subscriber.auth import Secret, Session
from subscriber.errors import Fatal, RetryLater

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_LIFETIME_S = 180


@dataclass(frozen=True)
class OAuthEndpoint:
    """Where to log in, which CA to trust (None: system roots) and how long to wait."""

    login_url: str
    ca_file: Path | None = None
    timeout_s: float = 30.0

    @property
    def token_url(self) -> str:
        return self.login_url.rstrip("/") + "/services/oauth2/token"

    def login(self, form: dict[str, str], auth: tuple[str, str] | None = None) -> Session:
        """POST ``form`` to the token endpoint and turn the answer into a :class:`Session`."""
        body = self._call("POST", self.token_url, data=form, auth=auth)
        token, instance_url = str(body.get("access_token", "")), str(body.get("instance_url", ""))
        if not token or not instance_url:
            raise RetryLater("token response lacks access_token or instance_url")
        org_id = _org_from_identity_url(str(body.get("id", "")))
        if not org_id:
            org_id = self._userinfo_org(instance_url, token)
        return Session(access_token=token, instance_url=instance_url.rstrip("/"), org_id=org_id)

    def _userinfo_org(self, instance_url: str, token: str) -> str:
        url = instance_url.rstrip("/") + "/services/oauth2/userinfo"
        body = self._call("GET", url, headers={"Authorization": f"Bearer {token}"})
        org_id = str(body.get("organization_id", ""))
        if not org_id:
            raise RetryLater("userinfo response lacks organization_id")
        return org_id

    def _call(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        verify: str | bool = str(self.ca_file) if self.ca_file else True
        try:
            response = requests.request(
                method, url, timeout=self.timeout_s, verify=verify, **kwargs
            )
        except requests.RequestException as exc:
            raise RetryLater(f"{method} {url} failed: {network_reason(exc)}") from None
        body = _json(response)
        if response.status_code >= 500 or response.status_code == 429:
            raise RetryLater(f"{method} {url}: HTTP {response.status_code}")
        if response.status_code >= 400:
            error = body.get("error", "?")
            raise Fatal(
                f"login rejected by {url}: HTTP {response.status_code} {error}: "
                f"{body.get('error_description', '')}",
                error_code=str(error),
            )
        return body


@dataclass(frozen=True)
class JwtBearer:
    """OAuth JWT bearer flow: an RS256 assertion signed with the connected app's key."""

    endpoint: OAuthEndpoint
    client_id: str
    username: str
    private_key: Secret = field(repr=False)
    audience: str | None = None

    def fetch(self) -> Session:
        claims = {
            "iss": self.client_id,
            "sub": self.username,
            "aud": self.audience or default_audience(self.endpoint.login_url),
            "exp": int(time.time()) + JWT_LIFETIME_S,
        }
        try:
            assertion = jwt.encode(claims, self.private_key.reveal(), algorithm="RS256")
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            raise Fatal(f"cannot sign the JWT assertion: {type(exc).__name__}") from None
        return self.endpoint.login({"grant_type": JWT_GRANT, "assertion": assertion})


@dataclass(frozen=True)
class ClientCredentials:
    """OAuth client credentials flow (runs as the app's "run as" user; needs My Domain)."""

    endpoint: OAuthEndpoint
    client_id: str
    client_secret: Secret = field(repr=False)

    def fetch(self) -> Session:
        return self.endpoint.login(
            {"grant_type": "client_credentials"},
            auth=(self.client_id, self.client_secret.reveal()),
        )


@dataclass(frozen=True)
class UsernamePassword:
    """Legacy OAuth username-password flow; prefer :class:`JwtBearer`."""

    endpoint: OAuthEndpoint
    client_id: str
    client_secret: Secret = field(repr=False)
    username: str
    password: Secret = field(repr=False)

    def fetch(self) -> Session:
        return self.endpoint.login({
            "grant_type": "password",
            "client_id": self.client_id,
            "client_secret": self.client_secret.reveal(),
            "username": self.username,
            "password": self.password.reveal(),
        })


def default_audience(login_url: str) -> str:
    """The JWT ``aud`` Salesforce expects: login.salesforce.com for production (My Domain
    included), test.salesforce.com for sandboxes, the login URL itself for anything else."""
    host = urlsplit(login_url).hostname or ""
    if host == "test.salesforce.com" or host.endswith(".sandbox.my.salesforce.com"):
        return "https://test.salesforce.com"
    if host.endswith(".salesforce.com"):
        return "https://login.salesforce.com"
    return login_url.rstrip("/")


def _org_from_identity_url(url: str) -> str:
    """The org ID in ``https://login.salesforce.com/id/{orgId}/{userId}``, or ''."""
    parts = [p for p in url.split("/") if p]
    if len(parts) >= 3 and parts[-3] == "id" and parts[-2].startswith("00D"):
        return parts[-2]
    return ""


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def network_reason(exc: BaseException) -> str:
    """``requests``' exception class and why it failed underneath (``ConnectionError:
    connection refused``, ``SSLError: certificate verify failed (...)``): the cause's own
    words, never the request, its URL or its body, so nothing secret can reach a log line."""
    cause = _cause(exc)
    return f"{type(exc).__name__}: {cause}" if cause else type(exc).__name__


def _cause(exc: BaseException) -> str:
    seen: set[int] = set()
    stack: list[object] = [exc]
    while stack:
        cause = stack.pop()
        if not isinstance(cause, BaseException) or id(cause) in seen:
            continue
        seen.add(id(cause))
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"certificate verify failed ({cause.verify_message})"
        if isinstance(cause, ssl.SSLError):
            return f"TLS handshake failed ({cause.reason or type(cause).__name__})"
        if isinstance(cause, socket.gaierror):
            return f"cannot resolve the host ({cause.strerror})"
        if isinstance(cause, OSError) and cause.errno is not None and cause.strerror:
            return cause.strerror.lower()  # e.g. "connection refused", "no route to host"
        if isinstance(cause, requests.Timeout):
            return "timed out"
        stack.extend([cause.__cause__, cause.__context__, getattr(cause, "reason", None),
                      *cause.args])
    return ""
