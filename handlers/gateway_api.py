"""The gateway's contract: what the apply cycle needs from Salesforce, and nothing more.

:class:`handlers.gateway.SalesforceGateway` implements it over REST and SOAP; tests of the
rules use an in-memory implementation. Errors that end a whole call are
:class:`~handlers.errors.GatewayError` subclasses; per-record failures are returned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from handlers.lookup import LookupRequest
from handlers.plan import ConvertRequest
from handlers.rule_settings import RuleSettings
from handlers.snapshot import LeadRow, Snapshot


@dataclass(frozen=True)
class RecordError:
    """Why Salesforce refused one record (``statusCode``/``errorCode`` and message)."""

    code: str
    message: str

    @property
    def transient(self) -> bool:
        return self.code in TRANSIENT_CODES

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


TRANSIENT_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "UNKNOWN_EXCEPTION",
                             "PROCESSING_HALTED", "ALL_OR_NONE_OPERATION_ROLLED_BACK"})


@dataclass
class WriteResult:
    """Per-record failures of one write: Workspaces by key, cache rows by Event_Uuid__c."""

    workspace_errors: dict[str, RecordError] = field(default_factory=dict)
    cache_errors: dict[str, RecordError] = field(default_factory=dict)
    workspace_ids: dict[str, str] = field(default_factory=dict)  # written ones: key → record ID


class Gateway(Protocol):
    @property
    def rules(self) -> RuleSettings:
        """The configured rule settings the cycle decides with (``[apply]``)."""

    def lookup(self, request: LookupRequest) -> Snapshot:
        """Every record the request names, read in as few calls as the limits allow."""

    def create_leads(self, drafts: Mapping[str, dict[str, Any]]
                     ) -> tuple[dict[str, LeadRow], dict[str, str]]:
        """New Leads by email, and the failures (email → note)."""

    def convert(self, requests: Sequence[ConvertRequest]
                ) -> tuple[dict[str, LeadRow], dict[str, str]]:
        """Converted Leads by ID (already converted counts as success), and the failures."""

    def write(self, workspaces: Mapping[str, dict[str, Any]],
              cache_rows: Mapping[str, dict[str, Any]]) -> WriteResult:
        """Upsert Workspaces by Workspace_ID__c and cache rows by Event_Uuid__c."""

    def create_tasks(self, tasks: Sequence[dict[str, Any]]) -> list[str]:
        """Create Tasks (sObject Collections); a note per refused one."""
