"""OAuth token endpoint, userinfo and identity URL, and expired sessions — as clients see them.

Bodies and codes follow the research notes §1.3-1.4 and §4: success field sets per grant,
``{"error", "error_description"}`` with 400 on refusal, ``id`` whose second-to-last segment is
the org ID, and 401 ``[{"errorCode": "INVALID_SESSION_ID"}]`` for a lapsed token.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
import requests
from conftest_org import (  # noqa: F401 - fixtures
    JWT_GRANT,
    OrgHarness,
    assertion,
    org_emulator_fixture,
    org_harness_fixture,
    redirecting_session,
)
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession


def token_request(h: OrgHarness, data: dict[str, str], **kw: Any) -> requests.Response:
    url = f"{h.info['login_url']}/services/oauth2/token"
    return h.session.post(url, data=data, timeout=10, **kw)


def org_id_via(h: OrgHarness, token: str) -> str:
    rows = h.call("GET", "query/", token=token, params={"q": "SELECT Id FROM Organization"})
    assert rows.status_code == 200, rows.text
    return str(rows.json()["records"][0]["Id"])


def test_jwt_bearer_grant_returns_a_working_token(org_harness: OrgHarness) -> None:
    info = org_harness.info
    response = token_request(org_harness, {"grant_type": JWT_GRANT, "assertion": assertion(info)})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "scope", "instance_url", "id", "token_type"}
    assert body["token_type"] == "Bearer"
    assert body["instance_url"] == info["instance_url"]
    assert not body["instance_url"].endswith("/")
    assert body["id"].split("/")[-2] == info["tenant_id"]
    assert body["id"].split("/")[-1] == info["user_id"]
    assert org_id_via(org_harness, body["access_token"]) == info["tenant_id"]


def other_key() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@pytest.mark.parametrize(
    ("claims", "error", "description"),
    [
        ({"iss": "3MVGnot-our-app"}, "invalid_client_id", "client identifier invalid"),
        ({"aud": "https://example.com"}, "invalid_grant", "audience is invalid"),
        ({"exp": int(time.time()) - 60}, "invalid_grant", "expired authorization code"),
        ({"sub": "nobody@example.com"}, "invalid_grant", "user hasn't approved this consumer"),
        ({"key_pem": "other"}, "invalid_grant", "invalid assertion"),
    ],
)
def test_jwt_bearer_refusals(
    org_harness: OrgHarness, claims: dict[str, Any], error: str, description: str
) -> None:
    key = other_key() if claims.pop("key_pem", None) else None
    signed = assertion(org_harness.info, key_pem=key, **claims)
    response = token_request(org_harness, {"grant_type": JWT_GRANT, "assertion": signed})

    assert response.status_code == 400
    assert response.json() == {"error": error, "error_description": description}


def test_client_credentials_in_basic_header_or_body(org_harness: OrgHarness) -> None:
    info = org_harness.info
    pair = base64.b64encode(f"{info['client_id']}:{info['client_secret']}".encode()).decode()
    basic = token_request(org_harness, {"grant_type": "client_credentials"},
                          headers={"Authorization": f"Basic {pair}"})
    in_body = token_request(org_harness, {"grant_type": "client_credentials",
                                          "client_id": info["client_id"],
                                          "client_secret": info["client_secret"]})

    for response in (basic, in_body):
        assert response.status_code == 200
        body = response.json()
        assert {"access_token", "signature", "scope", "instance_url", "id", "token_type",
                "issued_at"} <= set(body)
        assert body["issued_at"].isdigit()
        assert org_id_via(org_harness, body["access_token"]) == info["tenant_id"]


@pytest.mark.parametrize(
    ("client_id", "secret", "error", "description"),
    [
        ("wrong", None, "invalid_client_id", "client identifier invalid"),
        (None, "wrong", "invalid_client", "invalid client credentials"),
    ],
)
def test_client_credentials_refusals(
    org_harness: OrgHarness, client_id: str | None, secret: str | None, error: str,
    description: str,
) -> None:
    info = org_harness.info
    response = token_request(org_harness, {
        "grant_type": "client_credentials",
        "client_id": client_id or info["client_id"],
        "client_secret": secret or info["client_secret"],
    })

    assert response.status_code == 400
    assert response.json() == {"error": error, "error_description": description}


def test_password_grant_and_a_wrong_password(org_harness: OrgHarness) -> None:
    info = org_harness.info
    form = {"grant_type": "password", "client_id": info["client_id"],
            "client_secret": info["client_secret"], "username": info["username"].upper()}
    good = token_request(org_harness, {**form, "password": info["password"]})
    bad = token_request(org_harness, {**form, "password": info["password"] + "x"})

    assert good.status_code == 200
    assert {"access_token", "instance_url", "id", "token_type", "issued_at", "signature"} == set(
        good.json())
    assert bad.status_code == 400
    assert bad.json() == {"error": "invalid_grant", "error_description": "authentication failure"}


def test_unsupported_grant_type(org_harness: OrgHarness) -> None:
    response = token_request(org_harness, {"grant_type": "authorization_code", "code": "x"})

    assert response.status_code == 400
    assert response.json() == {"error": "unsupported_grant_type",
                               "error_description": "grant type not supported"}


def test_userinfo_and_identity_url_give_the_org_id(org_harness: OrgHarness) -> None:
    info = org_harness.info
    auth = {"Authorization": f"Bearer {org_harness.token}"}
    userinfo = org_harness.session.get(f"{info['instance_url']}/services/oauth2/userinfo",
                                       headers=auth, timeout=10)
    identity_url = f"{info['instance_url']}/id/{info['tenant_id']}/{info['user_id']}"
    identity = org_harness.session.get(identity_url, headers=auth, timeout=10)

    assert userinfo.status_code == 200
    assert userinfo.json()["organization_id"] == info["tenant_id"]
    assert userinfo.json()["user_id"] == info["user_id"]
    assert identity.status_code == 200
    assert identity.json()["organization_id"] == info["tenant_id"]
    assert identity.json()["username"] == info["username"]
    assert identity.json()["urls"]["rest"].endswith("/services/data/v{version}/")


def test_userinfo_refuses_a_bad_token(org_harness: OrgHarness) -> None:
    response = org_harness.session.get(
        f"{org_harness.info['instance_url']}/services/oauth2/userinfo",
        headers={"Authorization": "Bearer nonsense"}, timeout=10,
    )

    assert response.status_code == 403
    assert response.text == "Bad_OAuth_Token"


def test_expired_session_is_401_invalid_session_id_then_a_new_token_works(
    org_harness: OrgHarness,
) -> None:
    user = org_harness.emu.context.identity.integration_user_id
    lapsed, _ = org_harness.org.tokens.issue(user, lifetime_s=0)

    response = org_harness.call("GET", "limits/", token=lapsed)
    assert response.status_code == 401
    assert response.json() == [{"message": "Session expired or invalid",
                                "errorCode": "INVALID_SESSION_ID"}]
    assert response.headers["WWW-Authenticate"] == "Token"
    assert "Sforce-Limit-Info" not in response.headers
    with pytest.raises(SalesforceExpiredSession):
        Salesforce(instance_url=org_harness.info["instance_url"], session_id=lapsed,
                   session=org_harness.session).query("SELECT Id FROM Lead")

    assert org_harness.call("GET", "limits/", token=org_harness.new_token()).status_code == 200


def test_simple_salesforce_jwt_flow_logs_in_again_after_expiry(org_harness: OrgHarness) -> None:
    """simple-salesforce's own JWT login (routed from login.salesforce.com) and its re-login."""
    info = org_harness.info
    sf = Salesforce(username=info["username"], consumer_key=info["client_id"],
                    privatekey_file=info["private_key"], session=redirecting_session(info))
    first_token = sf.session_id
    assert sf.query("SELECT Id FROM Organization")["records"][0]["Id"] == info["tenant_id"]

    assert org_harness.admin("POST", "/faults/tokens/expire")["expired"] >= 1
    assert sf.query("SELECT Id FROM Organization")["totalSize"] == 1
    assert sf.session_id != first_token
