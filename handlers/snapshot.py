"""What the rules see of Salesforce: the records one cycle's events touch, read in one go.

Rows are built from SOQL results by the gateway (:mod:`handlers.gateway_reads`); the rules never
read anything else. After the gateway creates Leads or converts them, it returns a new
snapshot with those facts added, and the rules decide again (they are pure and idempotent, so
deciding twice is cheap and safe).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

WORKSPACE_FIELDS = (
    "Id", "Name", "Workspace_ID__c", "Email__c", "Self_Serve_Status__c", "Trial_Start_Date__c",
    "Trial_Expiration_Date__c", "Plan_Type__c", "MRR__c", "Subscription_ID__c",
    "Conversion_Date__c", "Churn_Date__c", "Churn_Reason__c", "Last_Event_Time__c",
    "Trial_History__c", "Lead__c", "Account__c", "Contact__c", "Opportunity__c",
    "Needs_Review__c", "Review_Reason__c", "Latest_Usage__c", "Latest_Usage_At__c",
    "Processing_Notes__c",
)
LEAD_FIELDS = ("Id", "Email", "IsConverted", "ConvertedAccountId", "ConvertedContactId",
               "ConvertedOpportunityId", "CreatedDate", "Workspace_ID__c", "OwnerId")


@dataclass(frozen=True)
class LeadRow:
    id: str
    email: str | None
    is_converted: bool = False
    converted_account_id: str | None = None
    converted_contact_id: str | None = None
    converted_opportunity_id: str | None = None
    created: str = "9999"  # SOQL datetime text; a Lead created this cycle sorts newest
    workspace_id: str | None = None
    owner_id: str | None = None  # after creation: as Salesforce's assignment rule set it

    @classmethod
    def from_record(cls, rec: Mapping[str, Any]) -> LeadRow:
        email = rec.get("Email")
        return cls(str(rec["Id"]), email.lower() if isinstance(email, str) else None,
                   bool(rec.get("IsConverted")), rec.get("ConvertedAccountId"),
                   rec.get("ConvertedContactId"), rec.get("ConvertedOpportunityId"),
                   str(rec.get("CreatedDate") or "9999"), rec.get("Workspace_ID__c"),
                   rec.get("OwnerId"))


@dataclass(frozen=True)
class AccountRow:
    id: str
    email_domain: str | None
    website: str | None


@dataclass(frozen=True)
class ContactRow:
    id: str
    email: str | None
    account_id: str | None


@dataclass(frozen=True)
class WorkspaceRow:
    """A Workspace__c as queried: its fields by API name (SOQL JSON values)."""

    fields: Mapping[str, Any]

    @property
    def id(self) -> str:
        return str(self.fields["Id"])

    def get(self, name: str) -> Any:
        return self.fields.get(name)


@dataclass(frozen=True)
class Snapshot:
    """Records by key; failures of this cycle's Lead creations and conversions, by key."""

    workspaces: Mapping[str, WorkspaceRow] = field(default_factory=dict)  # by lower-case ID
    leads: tuple[LeadRow, ...] = ()
    accounts: tuple[AccountRow, ...] = ()
    contacts: tuple[ContactRow, ...] = ()
    converted_status: str | None = None
    lead_failures: Mapping[str, str] = field(default_factory=dict)  # email → note
    conversion_failures: Mapping[str, str] = field(default_factory=dict)  # lead ID → note
    # Leads this cycle converted: still "open" to lead_for, so the re-plan after convertLead
    # links the Lead it converted instead of asking for a new one (a duplicate Lead).
    converted_now: frozenset[str] = frozenset()

    def lead(self, lead_id: str) -> LeadRow | None:
        return next((lead for lead in self.leads if lead.id == lead_id), None)

    def lead_for(self, workspace_id: str, email: str | None) -> LeadRow | None:
        """The workspace's own Lead (Workspace_ID__c), else the newest open Lead by email
        (a Lead converted by this cycle counts as open: it was open when the cycle chose it)."""
        own = [lead for lead in self.leads
               if (lead.workspace_id or "").lower() == workspace_id.lower()]
        if own:
            return sorted(own, key=lambda lead: (lead.is_converted, lead.created, lead.id))[0]
        open_leads = [lead for lead in self.leads if lead.email == email and email
                      and (not lead.is_converted or lead.id in self.converted_now)]
        return max(open_leads, key=lambda lead: (lead.created, lead.id), default=None)

    def with_leads(self, created: Mapping[str, LeadRow], failures: Mapping[str, str]
                   ) -> Snapshot:
        return replace(self, leads=self.leads + tuple(created.values()),
                       lead_failures={**self.lead_failures, **failures})

    def with_conversions(self, converted: Mapping[str, LeadRow], failures: Mapping[str, str]
                         ) -> Snapshot:
        def merged(lead: LeadRow) -> LeadRow:
            done = converted.get(lead.id)
            if done is None:
                return lead
            return replace(lead, is_converted=True,
                           converted_account_id=done.converted_account_id,
                           converted_contact_id=done.converted_contact_id,
                           converted_opportunity_id=done.converted_opportunity_id)

        leads = tuple(merged(lead) for lead in self.leads)
        return replace(self, leads=leads,
                       conversion_failures={**self.conversion_failures, **failures},
                       converted_now=self.converted_now | frozenset(converted))
