"""The Salesforce gateway: the only code that reads or writes Salesforce records.

Per cycle: reads in one Composite of queries; new Leads in one sObject Collections create;
conversions in one SOAP ``convertLead``; Workspace and ``Event_Cache__c`` upserts in one
Composite of Collections upserts (``allOrNone=false``: a refused record fails alone). Request
sizes follow :mod:`handlers.limits` (Salesforce's documented caps), so larger inputs become
more calls, never a request Salesforce would refuse. ``calls`` counts what was sent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from handlers import gateway_reads, soap_convert
from handlers.errors import CallRejected
from handlers.gateway_api import RecordError, WriteResult
from handlers.limits import (
    COLLECTIONS_MAX_RECORDS,
    COLLECTIONS_MAX_RETRIEVE,
    COMPOSITE_MAX_QUERY_OR_COLLECTIONS,
    CONVERT_LEAD_MAX_PER_CALL,
)
from handlers.lookup import LookupRequest
from handlers.plan import ConvertRequest
from handlers.rule_settings import RuleSettings
from handlers.sf_client import SalesforceClient, post_composite
from handlers.snapshot import LeadRow, Snapshot
from handlers.soql import query_url

ALREADY_CONVERTED = "CANNOT_UPDATE_CONVERTED_LEAD"


@dataclass(frozen=True)
class GatewaySettings:
    """``auto_assign``: the ``Sforce-Auto-Assign`` value sent with Lead creations: ``TRUE``
    (the org's active assignment rule), ``FALSE`` (the integration user keeps the Lead) or an
    AssignmentRule ID. Salesforce applies the active rule when the header is absent, so FALSE
    is always sent explicitly. ``rules``: what the cycle decides with."""

    create_opportunity: bool = False
    auto_assign: str = "TRUE"
    rules: RuleSettings = field(default_factory=RuleSettings)


class ConvertedStatus:
    """The converted ``LeadStatus`` label, read once and shared by every gateway of the
    daemon (one per apply worker): the org's setting, not a per-worker fact."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._label: str | None = None

    @property
    def label(self) -> str | None:
        with self._lock:
            return self._label

    @label.setter
    def label(self, value: str) -> None:
        with self._lock:
            self._label = value


class SalesforceGateway:
    """Implements :class:`handlers.gateway_api.Gateway` over REST and SOAP."""

    def __init__(self, client: SalesforceClient, settings: GatewaySettings | None = None,
                 converted_status: ConvertedStatus | None = None) -> None:
        self._client = client
        self._settings = settings or GatewaySettings()
        self._status = converted_status or ConvertedStatus()
        self.calls = 0

    @property
    def rules(self) -> RuleSettings:
        return self._settings.rules

    # -- reads --------------------------------------------------------------------------

    def lookup(self, request: LookupRequest) -> Snapshot:
        need_status = request.conversions and self._status.label is None
        pending = gateway_reads.statements(self._client.api_path, request, need_status)
        rows: dict[str, list[dict[str, Any]]] = {}
        for batch in gateway_reads.batches(pending):
            for (kind, _), records in zip(batch, self._query_batch(batch), strict=True):
                rows.setdefault(kind, []).extend(records)
        if rows.get("status"):
            self._status.label = str(rows["status"][0]["MasterLabel"])
        return gateway_reads.snapshot(rows, self._status.label)

    def _query_batch(self, batch: list[tuple[str, str]]) -> list[list[dict[str, Any]]]:
        subrequests = [{"method": "GET", "url": query_url(self._client.api_path, q),
                        "referenceId": f"q{i}"} for i, (_, q) in enumerate(batch)]
        answers = self._composite(subrequests, idempotent=True)
        out = []
        for answer in answers:
            body = answer.get("body")
            if answer.get("httpStatusCode", 500) >= 300 or not isinstance(body, dict):
                raise CallRejected(f"query refused: {_error_text(body)}", _error_code(body))
            records = list(body.get("records", []))
            while not body.get("done", True) and body.get("nextRecordsUrl"):
                self.calls += 1
                body = self._client.rest_url(str(body["nextRecordsUrl"]))
                records.extend(body.get("records", []))
            out.append(records)
        return out

    # -- writes -------------------------------------------------------------------------

    def create_leads(self, drafts: Mapping[str, dict[str, Any]]
                     ) -> tuple[dict[str, LeadRow], dict[str, str]]:
        """One Collections upsert per 200 Leads by their Workspace_ID__c (an external ID) rather
        than a create: a create whose answer never came (read timeout) may still land after the
        retry, and a plain create would then leave two Leads for one owner; an upsert finds the
        first. Sent through the org's assignment rule as configured; then (unless assignment is
        off) one retrieve per 200 for the owners the rule chose, so the new Workspaces can
        follow them."""
        created: dict[str, LeadRow] = {}
        failed: dict[str, str] = {}
        emails = list(drafts)
        header = {"Sforce-Auto-Assign": self._settings.auto_assign}
        for chunk in _chunks(emails, COLLECTIONS_MAX_RECORDS):
            records = [{"attributes": {"type": "Lead"}, **drafts[e]} for e in chunk]
            self.calls += 1
            answer = self._client.rest("PATCH", "composite/sobjects/Lead/Workspace_ID__c",
                                       {"allOrNone": False, "records": records},
                                       idempotent=True, headers=header)
            for email, result in zip(chunk, answer or [], strict=False):
                if result.get("success"):
                    created[email] = LeadRow(str(result["id"]), email,
                                             workspace_id=drafts[email]["Workspace_ID__c"])
                else:
                    failed[email] = str(_record_error(result))
        if created and self._settings.auto_assign.upper() != "FALSE":
            owners = self._owners([lead.id for lead in created.values()])
            created = {e: replace(lead, owner_id=owners.get(lead.id))
                       for e, lead in created.items()}
        return created, failed

    def _owners(self, lead_ids: list[str]) -> dict[str, str]:
        """OwnerId by Lead ID: sObject Collections retrieve, up to 2,000 IDs per call, as a
        POST (the documented form when the IDs would not fit the URI)."""
        out: dict[str, str] = {}
        for chunk in _chunks(lead_ids, COLLECTIONS_MAX_RETRIEVE):
            self.calls += 1
            rows = self._client.rest("POST", "composite/sobjects/Lead",
                                     {"ids": chunk, "fields": ["Id", "OwnerId"]},
                                     idempotent=True)
            out.update({str(r["Id"]): str(r["OwnerId"]) for r in rows or [] if r})
        return out

    def create_tasks(self, tasks: Sequence[dict[str, Any]]) -> list[str]:
        refused: list[str] = []
        for chunk in _chunks(list(tasks), COLLECTIONS_MAX_RECORDS):
            self.calls += 1
            answer = self._client.rest(
                "POST", "composite/sobjects",
                {"allOrNone": False, "records": [{"attributes": {"type": "Task"}, **t}
                                                 for t in chunk]}, idempotent=False)
            refused += [str(_record_error(r)) for r in answer or [] if not r.get("success")]
        return refused

    def convert(self, requests: Sequence[ConvertRequest]
                ) -> tuple[dict[str, LeadRow], dict[str, str]]:
        status = self._status.label or "Closed - Converted"
        converted: dict[str, LeadRow] = {}
        failed: dict[str, str] = {}
        already: list[str] = []
        for chunk in _chunks(list(requests), CONVERT_LEAD_MAX_PER_CALL):
            self.calls += 1
            body = self._client.soap(self._envelope(chunk, status))
            for result in soap_convert.results(body, chunk):
                if result.success:
                    converted[result.lead_id] = LeadRow(
                        result.lead_id, None, True, result.account_id, result.contact_id,
                        result.opportunity_id)
                elif result.error_code == ALREADY_CONVERTED:
                    already.append(result.lead_id)
                else:
                    failed[result.lead_id] = f"{result.error_code}: {result.message}"
        if already:
            converted.update(self._reread_leads(already))
        return converted, failed

    def _envelope(self, chunk: list[ConvertRequest], status: str) -> Callable[[str], bytes]:
        def build(token: str) -> bytes:
            return soap_convert.envelope(token, self._client.settings.client_name, chunk,
                                         status, self._settings.create_opportunity)
        return build

    def _reread_leads(self, lead_ids: list[str]) -> dict[str, LeadRow]:
        snap = self.lookup(LookupRequest(lead_ids=tuple(lead_ids)))
        return {lead.id: lead for lead in snap.leads if lead.id in lead_ids}

    def write(self, workspaces: Mapping[str, dict[str, Any]],
              cache_rows: Mapping[str, dict[str, Any]]) -> WriteResult:
        parts = [("Workspace__c", "Workspace_ID__c", key, workspaces[key])
                 for key in workspaces]
        parts += [("Event_Cache__c", "Event_Uuid__c", uuid, cache_rows[uuid])
                  for uuid in cache_rows]
        result = WriteResult()
        subrequests = list(self._upsert_subrequests(parts))
        for batch in _chunks(subrequests, COMPOSITE_MAX_QUERY_OR_COLLECTIONS):
            answers = self._composite([s for s, _ in batch], idempotent=True)
            for (_, keyed), answer in zip(batch, answers, strict=True):
                _collect(keyed, answer, result)
        return result

    def _upsert_subrequests(self, parts: list[tuple[str, str, str, dict[str, Any]]]
                            ) -> Iterable[tuple[dict[str, Any], list[tuple[str, str]]]]:
        by_object: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = {}
        for obj, ext, key, body in parts:
            by_object.setdefault((obj, ext), []).append((key, body))
        for (obj, ext), items in by_object.items():
            for n, chunk in enumerate(_chunks(items, COLLECTIONS_MAX_RECORDS)):
                records = [{"attributes": {"type": obj}, **body} for _, body in chunk]
                yield ({"method": "PATCH", "referenceId": f"{obj}_{n}",
                        "url": f"{self._client.api_path}/composite/sobjects/{obj}/{ext}",
                        "body": {"allOrNone": False, "records": records}},
                       [(obj, key) for key, _ in chunk])

    def _composite(self, subrequests: list[dict[str, Any]], *, idempotent: bool
                   ) -> list[dict[str, Any]]:
        self.calls += 1
        return post_composite(self._client, subrequests, all_or_none=False,
                              idempotent=idempotent)


def _collect(keyed: list[tuple[str, str]], answer: dict[str, Any], result: WriteResult) -> None:
    body = answer.get("body")
    if answer.get("httpStatusCode", 500) >= 300 or not isinstance(body, list):
        error = RecordError(_error_code(body) or "UNKNOWN_EXCEPTION", _error_text(body))
        body = [{"success": False, "errors": [{"statusCode": error.code,
                                               "message": error.message}]}] * len(keyed)
    for (obj, key), record in zip(keyed, body, strict=False):
        if record.get("success") and obj == "Workspace__c" and record.get("id"):
            result.workspace_ids[key] = str(record["id"])
        elif not record.get("success"):
            target = (result.workspace_errors if obj == "Workspace__c"
                      else result.cache_errors)
            target[key] = _record_error(record)


def _record_error(result: dict[str, Any]) -> RecordError:
    errors = result.get("errors") or [{}]
    first = errors[0] if isinstance(errors[0], dict) else {}
    return RecordError(str(first.get("statusCode") or first.get("errorCode") or "UNKNOWN"),
                       str(first.get("message") or "")[:300])


def _error_code(body: Any) -> str:
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return str(body[0].get("errorCode") or "")
    return ""


def _error_text(body: Any) -> str:
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return f"{body[0].get('errorCode')}: {str(body[0].get('message'))[:300]}"
    return str(body)[:300]


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
