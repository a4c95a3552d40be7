"""An in-memory org implementing the gateway contract, for rules-level tests only.

The end-to-end tests run the real gateway against the emulator; this fake exists so that
hypothesis can try thousands of delivery orders in seconds. It keeps Salesforce's semantics
that matter to the rules: upsert by external ID (case-insensitive), conversion of a Lead once.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from handlers.gateway_api import RecordError, WriteResult
from handlers.lookup import LookupRequest
from handlers.plan import ConvertRequest
from handlers.rule_settings import RuleSettings
from handlers.snapshot import AccountRow, ContactRow, LeadRow, Snapshot, WorkspaceRow


class FakeOrg:
    def __init__(self) -> None:
        self.workspaces: dict[str, dict[str, Any]] = {}
        self.leads: dict[str, LeadRow] = {}
        self.accounts: dict[str, AccountRow] = {}
        self.contacts: dict[str, ContactRow] = {}
        self.cache: dict[str, dict[str, Any]] = {}
        self.calls = 0
        self.refuse_workspaces: dict[str, RecordError] = {}
        self.refuse_leads: dict[str, str] = {}  # email → note
        self._ids = itertools.count(1)
        self.rules = RuleSettings()
        self.tasks: list[dict[str, Any]] = []

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):015d}"

    def add_account(self, domain: str | None, website: str | None = None) -> str:
        account = AccountRow(self.new_id("001"), domain, website)
        self.accounts[account.id] = account
        return account.id

    def lookup(self, request: LookupRequest) -> Snapshot:
        self.calls += 1
        ids = {w.lower() for w in request.workspace_ids}
        found = {k: WorkspaceRow(dict(v)) for k, v in self.workspaces.items()
                 if k in ids or (v.get("Email__c") or "") in request.workspace_emails
                 or (v.get("Lead__c") or "") in request.lead_ids}
        return Snapshot(workspaces=found, leads=tuple(self.leads.values()),
                        accounts=tuple(self.accounts.values()),
                        contacts=tuple(self.contacts.values()),
                        converted_status="Closed - Converted")

    def create_leads(self, drafts: Mapping[str, dict[str, Any]]
                     ) -> tuple[dict[str, LeadRow], dict[str, str]]:
        self.calls += 1
        created = {}
        refused = {e: note for e, note in self.refuse_leads.items() if e in drafts}
        for email, draft in drafts.items():
            if email in refused:
                continue
            lead = LeadRow(self.new_id("00Q"), email, created=f"2026-{len(self.leads):06d}",
                           workspace_id=draft["Workspace_ID__c"])
            self.leads[lead.id] = lead
            created[email] = lead
        return created, refused

    def convert(self, requests: Sequence[ConvertRequest]
                ) -> tuple[dict[str, LeadRow], dict[str, str]]:
        self.calls += 1
        done = {}
        for req in requests:
            lead = self.leads[req.lead_id]
            account = req.account_id or self.add_account(None)
            contact = req.contact_id or self.new_id("003")
            self.contacts.setdefault(contact, ContactRow(contact, lead.email, account))
            lead = LeadRow(lead.id, lead.email, True, account, contact, None, lead.created,
                           lead.workspace_id)
            self.leads[lead.id] = lead
            # like the SOAP result: IDs only, no email or Workspace_ID__c
            done[lead.id] = LeadRow(lead.id, None, True, account, contact)
        return done, {}

    def write(self, workspaces: Mapping[str, dict[str, Any]],
              cache_rows: Mapping[str, dict[str, Any]]) -> WriteResult:
        self.calls += 1
        result = WriteResult()
        for key, body in workspaces.items():
            if key in self.refuse_workspaces:
                result.workspace_errors[key] = self.refuse_workspaces[key]
                continue
            record = self.workspaces.setdefault(key.lower(), {"Id": self.new_id("a00")})
            record.update(body)
            result.workspace_ids[key] = str(record["Id"])
        for uuid, row in cache_rows.items():
            self.cache.setdefault(uuid, {}).update(row)
        return result

    def create_tasks(self, tasks: Sequence[dict[str, Any]]) -> list[str]:
        self.calls += 1
        self.tasks.extend(tasks)
        return []
