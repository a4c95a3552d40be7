"""OAuth 2.0 token endpoint: JWT bearer, client credentials and password grants.

``POST /services/oauth2/token`` (form-encoded) answers like Salesforce: 200 with
``access_token``, ``instance_url`` (no trailing slash), ``id`` (the identity URL, whose
second-to-last segment is the org ID), ``token_type: Bearer`` and per grant ``issued_at``,
``signature``, ``scope``; or 400 ``{"error", "error_description"}``. There is no refresh token
and no ``expires_in``: a token lapses after the emulator's configured lifetime.

* JWT bearer: an RS256 assertion signed with the key in the info file's ``private_key``
  (checked against the certificate the emulator registered); ``iss`` the client ID, ``sub`` a
  username, ``aud`` login.salesforce.com, test.salesforce.com or this instance, ``exp`` future.
* client credentials: client ID and secret in an HTTP Basic header or in the body; runs as the
  integration user, like a connected app's "run as" user.
* password: client ID and secret plus the integration user's username and password.

Token requests are not counted against the API allocation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
from cryptography import x509
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request, Response

from emulator.org.runtime import Org
from emulator.org.users import find_user

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
LOGIN_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")


class OAuthError(Exception):
    """A refused token request: Salesforce's ``error`` and ``error_description``."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description


def token(org: Org, request: Request) -> Response:
    form = request.form
    grant = form.get("grant_type", "")
    try:
        if grant == JWT_GRANT:
            user_id = _jwt_user(org, form.get("assertion", ""))
        elif grant == "client_credentials":
            _check_client(org, *_client_pair(request))
            user_id = org.identity.integration_user_id
        elif grant == "password":
            _check_client(org, form.get("client_id", ""), form.get("client_secret", ""))
            user_id = _password_user(org, form)
        else:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
    except OAuthError as exc:
        return _json(400, {"error": exc.error, "error_description": exc.description})
    return _json(200, _token_body(org, grant, user_id))


def _token_body(org: Org, grant: str, user_id: str) -> dict[str, Any]:
    access_token, info = org.tokens.issue(user_id)
    identity_url = org.identity_url(user_id)
    issued_at = str(info.issued_ms)
    body: dict[str, Any] = {"access_token": access_token}
    if grant != "password":
        body["scope"] = "api"
    body.update({"instance_url": org.instance_url, "id": identity_url, "token_type": "Bearer"})
    if grant != JWT_GRANT:
        body["issued_at"] = issued_at
        body["signature"] = _signature(org.identity.client_secret, identity_url + issued_at)
    return body


def _signature(secret: str, message: str) -> str:
    """Salesforce's ``signature``: base64 HMAC-SHA256 of id + issued_at, keyed by the secret."""
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _client_pair(request: Request) -> tuple[str, str]:
    """Client ID and secret from ``Authorization: Basic`` or, failing that, from the body."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(value.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise OAuthError("invalid_client", "invalid client credentials") from exc
        return client_id, secret
    return request.form.get("client_id", ""), request.form.get("client_secret", "")


def _check_client(org: Org, client_id: str, secret: str) -> None:
    if client_id != org.identity.client_id:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    if not hmac.compare_digest(secret.encode(), org.identity.client_secret.encode()):
        raise OAuthError("invalid_client", "invalid client credentials")


def _password_user(org: Org, form: MultiDict[str, str]) -> str:
    user = find_user(org, form.get("username", ""))
    password = form.get("password", "")
    if user is None or str(user["Id"]) != org.identity.integration_user_id \
            or not hmac.compare_digest(password.encode(), org.credentials.password.encode()):
        raise OAuthError("invalid_grant", "authentication failure")
    return str(user["Id"])


def _jwt_user(org: Org, assertion: str) -> str:
    """Verify the assertion; the user is its ``sub``."""
    try:
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise OAuthError("invalid_grant", "invalid assertion") from exc
    if unverified.get("iss") != org.identity.client_id:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    certificate = x509.load_pem_x509_certificate(org.credentials.certificate_pem())
    audiences = [*LOGIN_AUDIENCES, org.instance_url]
    try:
        claims = jwt.decode(
            assertion, certificate.public_key(), algorithms=["RS256"],  # type: ignore[arg-type]
            audience=audiences,
            options={"require": ["iss", "sub", "aud", "exp"], "verify_exp": False},
        )
    except jwt.InvalidAudienceError as exc:
        raise OAuthError("invalid_grant", "audience is invalid") from exc
    except jwt.PyJWTError as exc:
        raise OAuthError("invalid_grant", "invalid assertion") from exc
    _check_expiry(org, claims.get("exp"))
    user = find_user(org, str(claims.get("sub", "")))
    if user is None:
        raise OAuthError("invalid_grant", "user hasn't approved this consumer")
    return str(user["Id"])


def _check_expiry(org: Org, exp: object) -> None:
    """``exp`` must lie ahead of the org's clock (``now + clock_offset_s``: the admin API moves
    it to play a skewed client clock)."""
    try:
        expires = float(exp)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise OAuthError("invalid_grant", "invalid assertion") from exc
    if expires <= time.time() + org.settings.clock_offset_s:
        raise OAuthError("invalid_grant", "expired authorization code")


def _json(status: int, body: dict[str, Any]) -> Response:
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    return Response(json.dumps(body), status=status, headers=headers,
                    content_type="application/json;charset=UTF-8")

