"""A simple-salesforce client on the emulator, as an admin or a test sets up records: its own
session (``trust_env`` off, the emulator's CA), so the developer's proxies and CA bundle never
reach it."""

from __future__ import annotations

from typing import Any

import requests
from simple_salesforce.api import Salesforce


def admin_client(info: dict[str, Any], client_name: str = "") -> Salesforce:
    """``info``: the emulator's info (instance URL, token, CA file). ``client_name`` goes into
    ``Sforce-Call-Options`` so the org's request log can tell this client's calls apart."""
    session = requests.Session()
    session.trust_env = False
    session.verify = info["ca_cert"]
    if client_name:
        session.headers["Sforce-Call-Options"] = f"client={client_name}"
    return Salesforce(instance_url=info["instance_url"], session_id=info["access_token"],
                      session=session)
