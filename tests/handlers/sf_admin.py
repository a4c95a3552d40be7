"""A simple-salesforce client on a :class:`SalesforceClient`'s own session and token, for
tests that create records directly (the client itself no longer uses simple-salesforce)."""

from __future__ import annotations

from simple_salesforce.api import Salesforce

from handlers.gateway import SalesforceGateway
from handlers.sf_client import SalesforceClient


def salesforce_of(client: SalesforceClient | SalesforceGateway) -> Salesforce:
    if isinstance(client, SalesforceGateway):
        client = client._client  # type: ignore[assignment]
    session = client._sessions.current()
    return Salesforce(instance_url=session.instance_url, session_id=session.access_token,
                      session=client._http, version=client.settings.api_version)
