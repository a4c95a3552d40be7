"""Lead, Account and Contact links of a Workspace (seed 5.1-5.3), decided against a snapshot.

* Lead: the Workspace's own Lead (``Lead.Workspace_ID__c``), else the newest open Lead with the
  email, else one to create (Company and LastName from the email, LeadSource Self-Serve Trial).
* Account: matched while empty (when the Lead is linked or a Trial arrives) by the email's
  registrable domain against ``Account.Email_Domain__c`` and the normalised ``Website``.
  Free-mail and disposable domains never match. Several matches: the lowest ID wins (exact
  Email_Domain__c first) and the Workspace is flagged; none: flagged for account review.
* Conversion: the Lead is converted into the Workspace's Account (reusing a Contact there with
  the same email), else into a new Account and Contact. An already converted Lead counts as
  success: its ``Converted*`` IDs are used.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from handlers import conflicts
from handlers.emails import email_domain, is_shared_domain, website_domain
from handlers.events import Lifecycle
from handlers.plan import ConvertRequest, Plan, cache_row
from handlers.snapshot import AccountRow, LeadRow, Snapshot
from handlers.view import View

LEAD_SOURCE = "Self-Serve Trial"
USER_PREFIX = "005"  # a queue (00G) may own a Lead but not this Workspace
NO_COMPANY = "[not provided]"
SHARED_DOMAIN = "Account review: the email's domain is free-mail or disposable"
NO_ACCOUNT = "Account review: no Account matches the email's domain"
SEVERAL_ACCOUNTS = "Account review: several Accounts match the email's domain"


def link_lead_and_account(view: View, trials: Sequence[Lifecycle], snap: Snapshot,
                          plan: Plan) -> None:
    """Link the Lead (found, or asked for) and the Account; a Lead Salesforce refused to
    create parks this cycle's Trial events with the reason, and flags the Workspace.

    The Account is matched whenever it is empty and the Lead is linked, also when a Lead
    change linked the Lead before the Trial arrived (a Trial in this cycle means its
    domain's Accounts were read). A Lead another Workspace holds is a conflict: not linked.
    A Workspace created now is owned by its Lead's owner (the org's assignment rule's)."""
    email = view.current("Email__c")
    newly_linked = False
    if not view.current("Lead__c"):
        lead = snap.lead_for(view.workspace_id, email)
        if lead is None:
            failure = snap.lead_failures.get(str(email)) if email else None
            if failure is not None:
                _park_failed(view, trials, "Lead could not be created", failure, plan)
            elif email:
                plan.lead_drafts.setdefault(email, lead_draft(email, view.workspace_id))
            return
        holder = _held_elsewhere(view, lead, snap)
        if holder is not None:
            conflicts.flag(view, plan, [(t, f"Lead {lead.id} belongs to Workspace {holder}: "
                                            "not linked here") for t in trials],
                           conflicts.LEAD_CONFLICT)
        else:
            view.desired["Lead__c"] = lead.id
            newly_linked = True
            if view.row is None and (lead.owner_id or "").startswith(USER_PREFIX):
                view.desired["OwnerId"] = lead.owner_id
    if not view.current("Account__c") and email and (newly_linked or trials):
        _match_account(view, str(email), snap.accounts)


def new_trial_task(view: View, trials: Sequence[Lifecycle], plan: Plan) -> None:
    """A "New self-serve trial" Task for the new Workspace's owner (``WhatId`` is filled in
    once the Workspace exists); only once its Lead is linked, so the owner is the Lead's."""
    if not view.current("Lead__c"):
        return
    first = min(trials, key=lambda e: (e.at, e.source.event_uuid))
    ends = view.current("Trial_Expiration_Date__c")
    body: dict[str, Any] = {
        "Subject": f"New self-serve trial: {view.workspace_id}"[:255],
        "ActivityDate": first.at.astimezone(dt.UTC).date().isoformat(),
        "Status": "Not Started", "Priority": "Normal",
        "Description": (f"Workspace {view.workspace_id} started a self-serve trial on "
                        f"{first.at.astimezone(dt.UTC).date()}; it ends on {ends or 'unknown'}."
                        "\nSent by lifecycle-sync.")}
    owner = view.current("OwnerId")
    if owner:
        body["OwnerId"] = owner
    plan.trial_tasks[view.key] = body


def _held_elsewhere(view: View, lead: LeadRow, snap: Snapshot) -> str | None:
    """The other Workspace that holds ``lead``: named by the Lead's Workspace_ID__c, or
    linking it among the Workspaces read this cycle."""
    if lead.workspace_id and lead.workspace_id.lower() != view.key:
        return lead.workspace_id
    for key, row in snap.workspaces.items():
        if key != view.key and str(row.get("Lead__c") or "")[:15] == lead.id[:15]:
            return str(row.get("Workspace_ID__c"))
    return None


def lead_draft(email: str, workspace_id: str) -> dict[str, Any]:
    """A new Lead for a self-serve owner, named as sensibly as an address allows."""
    local, _, host = email.partition("@")
    words = [w for w in local.replace("_", ".").replace("-", ".").split(".") if w.isalpha()]
    first = words[0].capitalize() if len(words) > 1 else None
    last = words[-1].capitalize() if words else local[:80]
    domain = email_domain(email) or host
    shared = is_shared_domain(host) or is_shared_domain(domain)
    company = NO_COMPANY if shared else domain.split(".")[0].capitalize()
    draft = {"LastName": last, "Company": company, "Email": email, "LeadSource": LEAD_SOURCE,
             "Workspace_ID__c": workspace_id}
    return {**draft, "FirstName": first} if first else draft


def matching_accounts(email: str, accounts: Sequence[AccountRow]) -> list[AccountRow] | None:
    """Accounts of the email's registrable domain, best first; None for a shared domain."""
    host = email.rpartition("@")[2]
    domain = email_domain(email)
    if domain is None or is_shared_domain(host) or is_shared_domain(domain):
        return None
    exact = [a for a in accounts if (a.email_domain or "").strip().lower() == domain]
    by_site = [a for a in accounts if a not in exact and a.website
               and website_domain(a.website) == domain]
    return sorted(exact, key=lambda a: a.id) + sorted(by_site, key=lambda a: a.id)


def _match_account(view: View, email: str, accounts: Sequence[AccountRow]) -> None:
    found = matching_accounts(email, accounts)
    if found is None:
        view.add_reasons.add(SHARED_DOMAIN)
    elif not found:
        view.add_reasons.add(NO_ACCOUNT)
    else:
        view.desired["Account__c"] = found[0].id
        if len(found) > 1:
            view.add_reasons.add(SEVERAL_ACCOUNTS)


def convert(view: View, conversions: Sequence[Lifecycle], snap: Snapshot, plan: Plan) -> None:
    """Ask for the Lead's conversion, or copy the result of one that already happened."""
    lead_id = view.current("Lead__c")
    lead = snap.lead(str(lead_id)) if lead_id else None
    if lead is None:
        return  # no Lead yet: decided again once it is created
    if lead.is_converted:
        copy_converted(view, lead)
        return
    failure = snap.conversion_failures.get(lead.id)
    if failure is not None:
        _park_failed(view, conversions, "Lead conversion failed", failure, plan)
        return
    account_id = view.current("Account__c")
    email = view.current("Email__c") or lead.email
    plan.conversions[lead.id] = ConvertRequest(lead.id, account_id,
                                               _contact_in(snap, account_id, email))


def copy_converted(view: View, lead: LeadRow) -> None:
    """The converted Lead's Account, Contact and Opportunity onto the Workspace."""
    for name, value in (("Account__c", lead.converted_account_id),
                        ("Contact__c", lead.converted_contact_id),
                        ("Opportunity__c", lead.converted_opportunity_id)):
        if value:
            view.desired[name] = value


def _contact_in(snap: Snapshot, account_id: object, email: object) -> str | None:
    if not account_id or not email:
        return None
    found = sorted(c.id for c in snap.contacts
                   if c.account_id and c.account_id[:15] == str(account_id)[:15]
                   and (c.email or "").lower() == email)
    return found[0] if found else None


def _park_failed(view: View, events: Sequence[Lifecycle], reason: str, failure: str,
                 plan: Plan) -> None:
    view.add_reasons.add(f"{reason}: {failure}"[:120])
    for event in events:
        row = cache_row(event.source, status="Error", review=True, reason=reason,
                        note=f"{reason} for the Workspace: {failure}",
                        event_type=event.kind.value, workspace_id=event.workspace_id,
                        at=event.at)
        plan.park(event.source, row, f"{reason}: {failure}", reason.lower(), view.key)
