"""What one cycle must read from Salesforce, derived from its events (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from handlers.emails import email_domain, is_shared_domain
from handlers.events import EventType, LeadChange, LeadGap, Lifecycle, Parsed


@dataclass(frozen=True)
class LookupRequest:
    """Keys to read by: sorted, de-duplicated tuples (stable queries, stable tests)."""

    workspace_ids: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()  # Leads by email (Trials link them; Lead changes)
    contact_emails: tuple[str, ...] = ()  # Contacts to reuse when a Lead converts
    lead_ids: tuple[str, ...] = ()  # Leads re-read (gaps) or changed (Workspaces by Lead__c)
    workspace_emails: tuple[str, ...] = ()  # Workspaces by Email__c (Lead changes)
    domains: tuple[str, ...] = ()  # Accounts by registrable domain
    conversions: bool = False  # the converted LeadStatus may be needed

    @property
    def empty(self) -> bool:
        return not (self.workspace_ids or self.emails or self.lead_ids or self.workspace_emails)


def lookup_request(events: Sequence[Parsed], extra_emails: Sequence[str] = ()) -> LookupRequest:
    """Only what the rules can use: Leads and Accounts are matched when a Trial links a
    Workspace (or a Lead change names an email); Contacts when a Lead may convert."""
    lifecycle = [e for e in events if isinstance(e, Lifecycle)]
    trials = {e.email for e in lifecycle if e.email and e.kind is EventType.TRIAL}
    converting = {e.email for e in lifecycle if e.email and e.kind is EventType.CONVERSION}
    changes = [e for e in events if isinstance(e, LeadChange) and not e.own]
    gaps = [e for e in events if isinstance(e, LeadGap)]
    emails = trials | {c.email for c in changes if c.email} | set(extra_emails)
    lead_ids = {i for c in changes for i in c.lead_ids} | {i for g in gaps for i in g.lead_ids}
    domains = {d for d in (email_domain(e) for e in trials) if d and not is_shared_domain(d)}
    ws_emails = {c.email for c in changes if c.email} | set(extra_emails)
    return LookupRequest(
        workspace_ids=_sorted({e.workspace_id for e in lifecycle}),
        emails=_sorted(emails), contact_emails=_sorted(trials | converting),
        lead_ids=_sorted(lead_ids), workspace_emails=_sorted(ws_emails),
        domains=_sorted(domains), conversions=bool(lifecycle),
    )


def _sorted(values: set[str]) -> tuple[str, ...]:
    return tuple(sorted(values))
