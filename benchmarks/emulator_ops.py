"""The calls the emulator benchmark times, each one real HTTPS request a daemon would make.

Every operation is built from a :class:`~benchmarks.emulator_seed.SeededOrg`, so it names
records that exist; each checks its answer (status and every per-record ``success``), so a
benchmark never times an error path by accident. Successive samples touch different records.
"""

from __future__ import annotations

import itertools
import random
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import requests
from simple_salesforce.format import format_soql

from benchmarks.emulator_seed import SeededOrg, lead_values

API = "62.0"
BATCH = 200
CONVERT_BATCH = 100
COMPOSITE_QUERIES = 5
PARTNER = "{urn:partner.soap.sforce.com}"
Operation = Callable[[], None]


class Client:
    """An HTTPS session to the emulator's org, trusting its CA only, with the bearer token."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.session = requests.Session()
        self.session.verify = info["ca_cert"]
        self.session.trust_env = False
        self.instance_url = str(info["instance_url"])
        self.token = str(info["access_token"])
        self.base = f"{self.instance_url}/services/data/v{API}"

    def call(self, method: str, path: str, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"}
        response = self.session.request(method, f"{self.base}/{path}", headers=headers,
                                        timeout=120, **kw)
        if response.status_code != 200:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response.json()

    def close(self) -> None:
        self.session.close()


def _all_succeeded(results: list[dict[str, Any]]) -> None:
    failed = [r for r in results if not r.get("success")]
    if failed:
        raise RuntimeError(f"{len(failed)} records failed, first: {failed[0]}")


class Operations:
    """Factories for the timed calls; each returns a fresh zero-argument call per sample."""

    def __init__(self, client: Client, org: SeededOrg, seed: int = 7) -> None:
        self.client = client
        self.org = org
        self.rng = random.Random(seed)
        self._new = itertools.count(org.records)
        # Leads are converted from the top of the range down; the rest are read and updated.
        self._unconverted = len(org.lead_ids)

    def create_200(self) -> None:
        records = [{"attributes": {"type": "Lead"}, **lead_values(next(self._new))}
                   for _ in range(BATCH)]
        body = {"allOrNone": False, "records": records}
        _all_succeeded(self.client.call("POST", "composite/sobjects", json=body))

    def upsert_200(self) -> None:
        """Half existing Workspaces (updated), half new ones (created), keyed by external ID."""
        existing = self.rng.sample(range(self.org.records), BATCH // 2)
        keys = [self.org.workspace_key(i) for i in existing]
        keys += [self.org.workspace_key(next(self._new)) for _ in range(BATCH - len(keys))]
        records = [{"attributes": {"type": "Workspace__c"}, "Workspace_ID__c": key,
                    "Self_Serve_Status__c": "Paid", "Plan_Type__c": "Team"} for key in keys]
        body = {"allOrNone": False, "records": records}
        path = "composite/sobjects/Workspace__c/Workspace_ID__c"
        _all_succeeded(self.client.call("PATCH", path, json=body))

    def update_200(self) -> None:
        ids = self.rng.sample(self.org.lead_ids[: self._unconverted], BATCH)
        records = [{"attributes": {"type": "Lead"}, "Id": i, "Title": f"Title {self.rng.random()}"}
                   for i in ids]
        _all_succeeded(self.client.call("PATCH", "composite/sobjects",
                                        json={"allOrNone": False, "records": records}))

    def in_query_200(self) -> None:
        emails = [self.org.email(i) for i in self.rng.sample(range(self.org.records), BATCH)]
        soql = format_soql("SELECT Id, Email, Status FROM Lead WHERE Email IN {}", emails)
        body = self.client.call("GET", "query", params={"q": soql})
        if body["totalSize"] != BATCH:
            raise RuntimeError(f"IN query found {body['totalSize']} of {BATCH} Leads")

    def composite_5_queries(self) -> None:
        body = {"allOrNone": False, "compositeRequest": [
            {"method": "GET", "referenceId": f"q{n}",
             "url": f"/services/data/v{API}/query?" + requests.compat.urlencode({"q": soql})}
            for n, soql in enumerate(self._five_queries())]}
        answer = self.client.call("POST", "composite", json=body)
        codes = [r["httpStatusCode"] for r in answer["compositeResponse"]]
        if codes != [200] * COMPOSITE_QUERIES:
            raise RuntimeError(f"composite answered {codes}: {answer}")

    def _five_queries(self) -> list[str]:
        """What one apply cycle looks up: Leads by email and by Id, Workspaces, Accounts."""
        sample = self.rng.sample(range(self.org.records), 40)
        emails = [self.org.email(i) for i in sample]
        keys = [self.org.workspace_key(i) for i in sample]
        domains = [self.org.domain(i // 10) for i in sample]
        ids = [self.org.lead_ids[i] for i in sample]
        return [
            format_soql("SELECT Id, Email, IsConverted FROM Lead WHERE Email IN {}", emails),
            format_soql("SELECT Id, Workspace_ID__c FROM Workspace__c WHERE Workspace_ID__c IN {}",
                        keys),
            format_soql("SELECT Id, Name FROM Account WHERE Email_Domain__c IN {}", domains),
            format_soql("SELECT Id, Status FROM Lead WHERE Id IN {}", ids),
            format_soql("SELECT Id FROM Lead WHERE Workspace_ID__c IN {}", keys),
        ]

    def convert_100(self) -> None:
        """SOAP ``convertLead`` of 100 Leads (Account and Contact each, no Opportunity)."""
        ids = self.org.lead_ids[self._unconverted - CONVERT_BATCH: self._unconverted]
        self._unconverted -= CONVERT_BATCH
        response = self.client.session.post(
            f"{self.client.instance_url}/services/Soap/u/{API}", data=_convert_envelope(
                self.client.token, ids),
            headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}, timeout=120)
        results = ET.fromstring(response.content).iter(f"{PARTNER}result")
        succeeded = sum(1 for r in results if r.findtext(f"{PARTNER}success") == "true")
        if response.status_code != 200 or succeeded != len(ids):
            raise RuntimeError(f"convertLead: {response.status_code} {response.text[:500]}")

    def timed(self, name: str) -> float:
        """Run operation ``name`` once; its wall-clock latency in milliseconds."""
        operation: Operation = getattr(self, name)
        started = time.perf_counter()
        operation()
        return (time.perf_counter() - started) * 1000


def _convert_envelope(token: str, lead_ids: list[str]) -> bytes:
    converts = "".join(
        "<urn:leadConverts><urn:convertedStatus>Closed - Converted</urn:convertedStatus>"
        f"<urn:doNotCreateOpportunity>true</urn:doNotCreateOpportunity>"
        f"<urn:leadId>{lead_id}</urn:leadId></urn:leadConverts>" for lead_id in lead_ids)
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:urn="urn:partner.soap.sforce.com"><soapenv:Header>'
        f"<urn:SessionHeader><urn:sessionId>{token}</urn:sessionId></urn:SessionHeader>"
        "<urn:CallOptions><urn:client>benchmark</urn:client></urn:CallOptions></soapenv:Header>"
        f"<soapenv:Body><urn:convertLead>{converts}</urn:convertLead></soapenv:Body>"
        "</soapenv:Envelope>"
    ).encode()
