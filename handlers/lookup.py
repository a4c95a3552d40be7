"""What one cycle must read from Salesforce, derived from its events (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from handlers.emails import email_domain, is_shared_domain
from handlers.events import EventType, LeadChange, LeadGap, Lifecycle, Parsed
from handlers.snapshot import Snapshot


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


def lookup_request(events: Sequence[Parsed], extra_emails: Sequence[str] = (),
                   extra_contact_emails: Sequence[str] = ()) -> LookupRequest:
    """Only what the rules can use: Leads and Accounts are matched when a Trial links a
    Workspace (or a Lead change names an email); Contacts when a Lead may convert
    (``extra_contact_emails``: stored emails of Workspaces whose Conversion carries none)."""
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
        emails=_sorted(emails),
        contact_emails=_sorted(trials | converting | set(extra_contact_emails)),
        lead_ids=_sorted(lead_ids), workspace_emails=_sorted(ws_emails),
        domains=_sorted(domains), conversions=bool(lifecycle),
    )


def stored_contact_emails(events: Sequence[Parsed], snap: Snapshot,
                          request: LookupRequest) -> list[str]:
    """Emails not yet read for Contacts of Conversions without an email: the Workspace's
    stored Email__c, else its Lead's email, so the existing Contact is reused."""
    found: set[str] = set()
    for event in events:
        if not isinstance(event, Lifecycle) or event.kind is not EventType.CONVERSION \
                or event.email:
            continue
        row = snap.workspaces.get(event.workspace_id.lower())
        if row is None:
            continue
        email = row.get("Email__c")
        lead = snap.lead(str(row.get("Lead__c"))) if row.get("Lead__c") else None
        email = email or (lead.email if lead else None)
        if isinstance(email, str) and email.lower() not in request.contact_emails:
            found.add(email.lower())
    return sorted(found)


def _sorted(values: set[str]) -> tuple[str, ...]:
    return tuple(sorted(values))
