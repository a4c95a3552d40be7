"""Fixtures and helpers for the org (REST/OAuth) tests; test modules import them explicitly
(``from conftest_org import org_emulator_fixture, org_harness_fixture``; the fixtures are
named ``org_emulator`` and ``org_harness``).

- ``org_emulator``: one emulator per test module (its state in a module temp dir).
- ``org_harness``: per test, a fresh access token and an HTTPS session trusting the emulator's
  CA; after the test, org faults, settings and the API allocation are back to defaults.

``requests`` normally lets ``REQUESTS_CA_BUNDLE`` override ``session.verify``; the sessions
here set ``trust_env = False`` so the emulator's CA is the one used.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce

from emulator.org.runtime import Org
from emulator.server import Emulator, EmulatorSettings

API = "62.0"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def https_session(ca_cert: str) -> requests.Session:
    session = requests.Session()
    session.verify = ca_cert
    session.trust_env = False
    return session


class LoginRedirect(HTTPAdapter):
    """Sends ``https://login.salesforce.com/...`` to the emulator, as a demo-mode client would."""

    def __init__(self, instance_url: str) -> None:
        super().__init__()
        self.instance_url = instance_url

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        assert request.url is not None
        request.url = request.url.replace("https://login.salesforce.com", self.instance_url, 1)
        return super().send(request, *args, **kwargs)


def redirecting_session(info: dict[str, Any]) -> requests.Session:
    session = https_session(info["ca_cert"])
    session.mount("https://login.salesforce.com", LoginRedirect(info["instance_url"]))
    return session


def assertion(info: dict[str, Any], key_pem: bytes | None = None, **claims: Any) -> str:
    """A JWT bearer assertion signed with the emulator's registered key (or ``key_pem``)."""
    body = {"iss": info["client_id"], "sub": info["username"],
            "aud": "https://login.salesforce.com", "exp": int(time.time()) + 180}
    body.update(claims)
    key = key_pem if key_pem is not None else Path(info["private_key"]).read_bytes()
    return jwt.encode(body, key, algorithm="RS256")


@dataclass
class OrgHarness:
    """One test's view of the org: a token, an HTTPS session, helpers for REST and admin."""

    emu: Emulator
    token: str
    session: requests.Session
    admin_session: requests.Session = field(default_factory=requests.Session)

    @property
    def org(self) -> Org:
        return self.emu.org

    @property
    def info(self) -> dict[str, Any]:
        return self.emu.info()

    @property
    def base(self) -> str:
        return f"{self.emu.context.instance_url}/services/data/v{API}"

    def call(
        self, method: str, path: str, token: str | None = None, **kw: Any
    ) -> requests.Response:
        """``method`` on ``base/path`` with the bearer token (JSON body via ``json=``)."""
        headers = {"Authorization": f"Bearer {token or self.token}", **kw.pop("headers", {})}
        url = f"{self.base}/{path}"
        return self.session.request(method, url, headers=headers, timeout=10, **kw)

    def sf(self, **kw: Any) -> Salesforce:
        return Salesforce(instance_url=self.emu.context.instance_url, session_id=self.token,
                          session=self.session, version=API, **kw)

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        url = f"{self.info['admin_url']}{path}"
        response = self.admin_session.request(method, url, json=body or {}, timeout=10)
        response.raise_for_status()
        return response.json()

    def new_token(self) -> str:
        token, _ = self.org.tokens.issue(self.emu.context.identity.integration_user_id)
        return token

    def create(self, sobject: str, **values: Any) -> str:
        response = self.call("POST", f"sobjects/{sobject}/", json=values)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])


@pytest.fixture(scope="module", name="org_emulator")
def org_emulator_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with Emulator(EmulatorSettings(state_dir=tmp_path_factory.mktemp("org-state"))) as emu:
        yield emu


@pytest.fixture(name="org_harness")
def org_harness_fixture(org_emulator: Emulator) -> Iterator[OrgHarness]:
    info = org_emulator.info()
    admin = requests.Session()
    admin.trust_env = False
    token, _ = org_emulator.org.tokens.issue(org_emulator.context.identity.integration_user_id)
    yield OrgHarness(org_emulator, token, https_session(info["ca_cert"]), admin)
    org = org_emulator.org
    org.faults.clear()
    org.settings.latency_ms = 0.0
    org.settings.query_batch_size = 2000
    org.usage.daily_limit = 100_000
    org.usage.reset()
