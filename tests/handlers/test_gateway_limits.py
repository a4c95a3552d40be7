"""The gateway shapes every request by Salesforce's documented limits, whatever the input:
recorded requests checked against :mod:`handlers.limits` (no server needed to count them)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from handlers import gateway_reads
from handlers.gateway import SalesforceGateway
from handlers.limits import (
    COLLECTIONS_MAX_RECORDS,
    COMPOSITE_MAX_QUERY_OR_COLLECTIONS,
    COMPOSITE_MAX_SUBREQUESTS,
    CONVERT_LEAD_MAX_PER_CALL,
    SOQL_MAX_CHARS,
    URI_MAX_BYTES,
)
from handlers.lookup import LookupRequest
from handlers.plan import ConvertRequest
from handlers.sf_client import ClientSettings

API = "/services/data/v62.0"


class RecordingClient:
    """Answers like Salesforce would (empty results, successes) and keeps every request."""

    settings = ClientSettings()
    api_path = API

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, Any]] = []

    def rest(self, method: str, path: str, body: Any = None, *, idempotent: bool,
             headers: dict[str, str] | None = None) -> Any:
        self.requests.append((method, path, body))
        if path == "composite":
            return {"compositeResponse": [_answer(s) for s in body["compositeRequest"]]}
        if path == "composite/sobjects/Lead":  # a Collections retrieve of new Leads' owners
            return [{"Id": i, "OwnerId": "005000000000001AAA"} for i in body["ids"]]
        return [{"id": f"00Q{i:015d}", "success": True} for i in range(len(body["records"]))]

    def rest_url(self, url: str) -> Any:
        raise AssertionError("no pagination expected")

    def soap(self, build) -> bytes:
        body = build("token").decode()
        self.requests.append(("SOAP", "convertLead", body))
        results = "".join("<result><success>true</success><accountId>001</accountId>"
                          "<contactId>003</contactId></result>"
                          for _ in range(body.count("<urn:leadConverts>")))
        return (f'<e xmlns="urn:partner.soap.sforce.com"><convertLeadResponse>{results}'
                "</convertLeadResponse></e>").encode()


def _answer(sub: dict[str, Any]) -> dict[str, Any]:
    if sub["method"] == "GET":
        return {"httpStatusCode": 200, "body": {"done": True, "records": []}}
    return {"httpStatusCode": 200,
            "body": [{"success": True} for _ in sub["body"]["records"]]}


def _big_request(n: int) -> LookupRequest:
    ids = tuple(f"ws-{i:04d}-" + "w" * 55 for i in range(n))
    emails = tuple(f"owner.{i:04d}." + "x" * 50 + f"@d{i}.example.co.uk" for i in range(n))
    return LookupRequest(workspace_ids=ids, emails=emails, contact_emails=emails,
                         lead_ids=tuple(f"00Q{i:015d}" for i in range(n)),
                         workspace_emails=emails,
                         domains=tuple(f"d{i}.example.co.uk" for i in range(n)),
                         conversions=True)


def _check_composite(body: dict[str, Any]) -> None:
    subs = body["compositeRequest"]
    assert len(subs) <= COMPOSITE_MAX_SUBREQUESTS
    heavy = [s for s in subs if "/query" in s["url"] or "/composite/sobjects" in s["url"]]
    assert len(heavy) <= COMPOSITE_MAX_QUERY_OR_COLLECTIONS
    for sub in subs:
        assert len(sub["url"].encode()) <= URI_MAX_BYTES - 2048
        if sub["method"] != "GET":
            assert len(sub["body"]["records"]) <= COLLECTIONS_MAX_RECORDS


def test_lookups_of_any_size_fit_composite_uri_and_soql_limits():
    client = RecordingClient()
    SalesforceGateway(client).lookup(_big_request(600))  # type: ignore[arg-type]
    composites = [body for method, path, body in client.requests if path == "composite"]
    assert len(composites) > 1
    for body in composites:
        _check_composite(body)
    statements = gateway_reads.statements(API, _big_request(600), need_status=True)
    for _, soql in statements:
        assert len(soql) <= SOQL_MAX_CHARS
        assert len(f"{API}/query?q={quote(soql, safe='')}") <= URI_MAX_BYTES


def test_writes_and_creates_are_chunked_by_collections_and_composite_limits():
    client = RecordingClient()
    gateway = SalesforceGateway(client)  # type: ignore[arg-type]
    workspaces = {f"ws-{i}": {"Workspace_ID__c": f"ws-{i}"} for i in range(1300)}
    rows = {f"u-{i}": {"Event_Uuid__c": f"u-{i}"} for i in range(450)}
    result = gateway.write(workspaces, rows)
    assert not result.workspace_errors
    assert not result.cache_errors
    for _, _, body in client.requests:
        _check_composite(body)
    upserted = sum(len(s["body"]["records"]) for _, _, b in client.requests
                   for s in b["compositeRequest"])
    assert upserted == 1300 + 450
    drafts = {f"e{i}@x.co.uk": {"LastName": "x", "Workspace_ID__c": f"w{i}"} for i in range(450)}
    created, failed = gateway.create_leads(drafts)
    assert len(created) == 450
    assert not failed
    creates = [b for m, p, b in client.requests if p == "composite/sobjects/Lead/Workspace_ID__c"]
    assert [len(b["records"]) for b in creates] == [200, 200, 50]
    retrieves = [b for m, p, b in client.requests if p == "composite/sobjects/Lead"]
    assert [len(b["ids"]) for b in retrieves] == [450]  # one retrieve (2,000 IDs per call)
    assert {lead.owner_id for lead in created.values()} == {"005000000000001AAA"}


def test_convert_lead_sends_at_most_100_per_call():
    client = RecordingClient()
    gateway = SalesforceGateway(client)  # type: ignore[arg-type]
    converted, failed = gateway.convert([ConvertRequest(f"00Q{i:015d}", None, None)
                                         for i in range(250)])
    assert len(converted) == 250
    assert not failed
    sizes = [body.count("<urn:leadConverts>") for m, _, body in client.requests if m == "SOAP"]
    assert sizes == [CONVERT_LEAD_MAX_PER_CALL, CONVERT_LEAD_MAX_PER_CALL, 50]
    assert all("<urn:doNotCreateOpportunity>true" in b for m, _, b in client.requests
               if m == "SOAP")
