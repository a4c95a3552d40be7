"""Who a token belongs to: ``/services/oauth2/userinfo`` and the identity URL ``/id/{org}/{user}``.

Clients read the org ID from either (the Pub/Sub API needs it as ``tenantid``). Both take the
access token as ``Authorization: Bearer`` (the identity URL also as ``?oauth_token=``); a bad
token gets 403 ``Bad_OAuth_Token`` in plain text, as Salesforce answers.
"""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Request, Response

from emulator.ids import is_valid, to18
from emulator.org.gate import bearer_token
from emulator.org.runtime import Org
from emulator.org.values import format_datetime

Record = dict[str, Any]


def find_user(org: Org, username: str) -> Record | None:
    """The active User whose Username matches (case-insensitively), or None."""
    if not username:
        return None
    with org.store.transaction("") as tx:
        tx.rollback_only()
        found = tx.find("User", "Username", username)
    return found[0] if found and found[0].get("IsActive") is not False else None


def userinfo(org: Org, request: Request) -> Response:
    """OpenID Connect userinfo for the token's user."""
    user = _token_user(org, bearer_token(request))
    if user is None:
        return _plain(403, "Bad_OAuth_Token")
    return _json(_userinfo_body(org, user))


def identity(org: Org, request: Request, org_id: str, user_id: str) -> Response:
    """The identity service: who the user is and the org's service URLs."""
    token = bearer_token(request) or request.args.get("oauth_token", "")
    caller = _token_user(org, token)
    if caller is None:
        return _plain(403, "Bad_OAuth_Token")
    if org_id[:15] != org.identity.org_id[:15]:
        return _plain(404, "Bad_Id")
    user = _user_by_id(org, user_id)
    if user is None:
        return _plain(404, "Bad_Id")
    body = _identity_body(org, user)
    body["asserted_user"] = caller["Id"] == user["Id"]
    return _json(body)


def _identity_body(org: Org, user: Record) -> dict[str, Any]:
    return {
        "id": org.identity_url(str(user["Id"])),
        "asserted_user": True,
        "user_id": user["Id"],
        "organization_id": org.identity.org_id,
        "username": user["Username"],
        "nick_name": str(user["Username"]).split("@")[0],
        "display_name": user.get("Name"),
        "email": user.get("Email"),
        "email_verified": True,
        "first_name": user.get("FirstName"),
        "last_name": user.get("LastName"),
        "timezone": "GMT",
        "photos": {},
        "status": {"created_date": None, "body": None},
        **_account_fields(org, user),
        "last_modified_date": _when(user.get("LastModifiedDate")),
    }


def _userinfo_body(org: Org, user: Record) -> dict[str, Any]:
    return {
        "sub": org.identity_url(str(user["Id"])),
        "user_id": user["Id"],
        "organization_id": org.identity.org_id,
        "preferred_username": user["Username"],
        "nickname": str(user["Username"]).split("@")[0],
        "name": user.get("Name"),
        "email": user.get("Email"),
        "email_verified": True,
        "given_name": user.get("FirstName"),
        "family_name": user.get("LastName"),
        "zoneinfo": "GMT",
        "photos": {},
        "profile": f"{org.instance_url}/{user['Id']}",
        "picture": None,
        "address": {},
        "is_salesforce_integration_user": False,
        **_account_fields(org, user),
        "updated_at": _when(user.get("LastModifiedDate")),
    }


def _account_fields(org: Org, user: Record) -> dict[str, Any]:
    """What the identity URL and userinfo both report about the user's account."""
    return {
        "urls": _urls(org, str(user["Id"])),
        "active": bool(user.get("IsActive", True)),
        "user_type": "STANDARD",
        "language": "en_US",
        "locale": "en_US",
        "utcOffset": 0,
        "is_app_installed": True,
    }


def _urls(org: Org, user_id: str) -> dict[str, str]:
    """Service URLs with Salesforce's literal ``{version}`` placeholder."""
    base, org15 = org.instance_url, org.identity.org_id[:15]
    rest = f"{base}/services/data/v{{version}}/"
    return {
        "enterprise": f"{base}/services/Soap/c/{{version}}/{org15}",
        "metadata": f"{base}/services/Soap/m/{{version}}/{org15}",
        "partner": f"{base}/services/Soap/u/{{version}}/{org15}",
        "rest": rest,
        "sobjects": f"{rest}sobjects/",
        "search": f"{rest}search/",
        "query": f"{rest}query/",
        "recent": f"{rest}recent/",
        "tooling_soap": f"{base}/services/Soap/T/{{version}}/{org15}",
        "tooling_rest": f"{rest}tooling/",
        "profile": f"{base}/{user_id}",
        "custom_domain": base,
    }


def _token_user(org: Org, token: str) -> Record | None:
    info = org.tokens.check(token)
    return None if info is None else _user_by_id(org, info.user_id)


def _user_by_id(org: Org, user_id: str) -> Record | None:
    with org.store.transaction("") as tx:
        tx.rollback_only()
        return tx.get("User", to18(user_id)) if is_valid(user_id) else None


def _when(value: Any) -> str | None:
    return format_datetime(value) if value is not None else None


def _json(body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status=200, content_type="application/json;charset=UTF-8")


def _plain(status: int, text: str) -> Response:
    return Response(text, status=status, content_type="text/plain;charset=UTF-8")
