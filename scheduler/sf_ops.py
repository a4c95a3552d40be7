"""The few Salesforce operations the jobs need, batched, over the apply side's client.

Every request goes through :class:`handlers.sf_client.SalesforceClient` (timeouts, the
``client=lifecycle-sync`` call option, retries, one session refresh). Each method is one API
call per up to 200 records (Salesforce's sObject Collections cap) or per page of a query;
``calls`` counts what was sent, so tests can check that no job calls per record.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

from handlers.limits import COLLECTIONS_MAX_RECORDS
from handlers.sf_client import SalesforceClient, post_composite

Record = dict[str, Any]


class JobsSalesforce:
    def __init__(self, client: SalesforceClient) -> None:
        self._client = client
        self.calls = 0

    @property
    def api_path(self) -> str:
        return self._client.api_path

    def query(self, soql: str) -> list[Record]:
        """Every row of ``soql`` (one call per page of results)."""
        self.calls += 1
        body = self._client.rest("GET", "query?q=" + quote(soql, safe=""), idempotent=True)
        records = list(body.get("records", []))
        while not body.get("done", True) and body.get("nextRecordsUrl"):
            self.calls += 1
            body = self._client.rest_url(str(body["nextRecordsUrl"]))
            records.extend(body.get("records", []))
        return [{k: v for k, v in r.items() if k != "attributes"} for r in records]

    def count(self, soql: str) -> int:
        """``totalSize`` of a ``SELECT COUNT() ...`` query (one call)."""
        self.calls += 1
        body = self._client.rest("GET", "query?q=" + quote(soql, safe=""), idempotent=True)
        return int(body.get("totalSize", 0))

    def upsert(self, sobject: str, external_id: str, records: Sequence[Record]
               ) -> dict[str, str]:
        """Upsert by external ID (allOrNone=false); returns errors by external-ID value."""
        errors: dict[str, str] = {}
        for chunk in _chunks(list(records), COLLECTIONS_MAX_RECORDS):
            self.calls += 1
            body = {"allOrNone": False,
                    "records": [{"attributes": {"type": sobject}, **r} for r in chunk]}
            answer = self._client.rest("PATCH", f"composite/sobjects/{sobject}/{external_id}",
                                       body, idempotent=True)
            errors.update(_failures([str(r[external_id]) for r in chunk], answer))
        return errors

    def update(self, sobject: str, records: Sequence[Record]) -> dict[str, str]:
        """Update by Id (allOrNone=false); returns errors by Id."""
        errors: dict[str, str] = {}
        for chunk in _chunks(list(records), COLLECTIONS_MAX_RECORDS):
            self.calls += 1
            body = {"allOrNone": False,
                    "records": [{"attributes": {"type": sobject}, **r} for r in chunk]}
            answer = self._client.rest("PATCH", "composite/sobjects", body, idempotent=True)
            errors.update(_failures([str(r["Id"]) for r in chunk], answer))
        return errors

    def delete(self, ids: Sequence[str]) -> dict[str, str]:
        """Delete by Id (allOrNone=false); returns errors by Id."""
        errors: dict[str, str] = {}
        for chunk in _chunks(list(ids), COLLECTIONS_MAX_RECORDS):
            self.calls += 1
            answer = self._client.rest(
                "DELETE", "composite/sobjects?allOrNone=false&ids=" + ",".join(chunk),
                idempotent=True)
            errors.update(_failures(chunk, answer))
        return errors

    def composite(self, subrequests: list[Record], *, all_or_none: bool) -> list[Record]:
        """One Composite request; its ``compositeResponse`` entries."""
        self.calls += 1
        return post_composite(self._client, subrequests, all_or_none=all_or_none,
                              idempotent=False)


def _failures(keys: Sequence[str], answer: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, result in zip(keys, answer or [], strict=False):
        if not result.get("success"):
            errors = result.get("errors") or [{}]
            first = errors[0] if isinstance(errors[0], dict) else {}
            out[key] = f"{first.get('statusCode', 'UNKNOWN')}: {first.get('message', '')}"[:300]
    return out


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
