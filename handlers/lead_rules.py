"""Lead changes made outside the daemon (Marketo, reps), seed 5.4, as pure functions.

* A Lead created, or whose Email changed, links the Workspaces with that email and no Lead. A
  Workspace that already has a different Lead keeps a converted one (a converted Lead is never
  replaced), else the older one (CreatedDate, then ID), and is flagged for review; Leads are
  never merged automatically.
* A Lead converted in the UI copies its Converted* IDs onto its Workspaces.
* Changes the daemon made itself (its ``client=`` in ``changeOrigin``) are ignored: no loops.
* ``GAP_*`` events are answered by re-reading the Leads (the snapshot holds them) and applying
  the same rules; ``GAP_OVERFLOW`` is parked for reconciliation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from handlers.events import GapOverflow, LeadChange, LeadGap
from handlers.links import copy_converted
from handlers.plan import Fate, Outcome, Plan, cache_row
from handlers.snapshot import LeadRow, Snapshot
from handlers.view import View

DUPLICATE_LEAD = ("Duplicate Leads for the owner's email: kept the converted or older one, "
                  "not merged")
OVERFLOW_NOTE = ("Salesforce sent GAP_OVERFLOW for {entity}: more changes than change events "
                 "can describe. Reconcile {entity} records with their Workspaces by hand or "
                 "with a reconciliation run.")

ViewFor = Callable[[str], View]


def apply_lead_change(event: LeadChange, snap: Snapshot, views: Iterable[View],
                      view_for: ViewFor, plan: Plan) -> None:
    """Apply one Lead change event to the Workspaces it concerns."""
    if event.own or event.change_type not in ("CREATE", "UPDATE"):
        plan.outcomes[event.source.entry_id] = Outcome(Fate.APPLIED)
        return
    keys: set[str] = set()
    for lead_id in event.lead_ids:
        known = snap.lead(lead_id)
        lead = LeadRow(lead_id, event.email, event.converted, event.converted_account_id,
                       event.converted_contact_id, event.converted_opportunity_id,
                       _created(event, known))
        keys |= _apply_lead(lead, event.email is not None, snap, views, view_for)
    plan.outcomes[event.source.entry_id] = Outcome(Fate.APPLIED,
                                                   workspace_keys=tuple(sorted(keys)))


def apply_gap(event: LeadGap, snap: Snapshot, views: Iterable[View], view_for: ViewFor,
              plan: Plan) -> None:
    """Re-read Leads (from the snapshot) get the rules a CREATE/UPDATE would."""
    keys: set[str] = set()
    for lead_id in event.lead_ids:
        lead = snap.lead(lead_id)
        if lead is not None:
            keys |= _apply_lead(lead, lead.email is not None, snap, views, view_for)
    plan.outcomes[event.source.entry_id] = Outcome(Fate.APPLIED,
                                                   workspace_keys=tuple(sorted(keys)))


def park_overflow(event: GapOverflow, plan: Plan) -> None:
    note = OVERFLOW_NOTE.format(entity=event.entity or "the entity")
    row = cache_row(event.source, status="Error", review=True,
                    reason="reconcile: GAP_OVERFLOW", note=note, event_type="GAP_OVERFLOW")
    plan.park(event.source, row, note, "gap overflow")
    plan.warnings.append(("gap overflow", note))


def _created(event: LeadChange, known: LeadRow | None) -> str:
    if known is not None:
        return known.created
    if event.created_at is not None:
        return event.created_at.isoformat()
    return "9999"


def _apply_lead(lead: LeadRow, link_by_email: bool, snap: Snapshot, views: Iterable[View],
                view_for: ViewFor) -> set[str]:
    """Apply one Lead's facts; the keys of the Workspaces it may write (the event waits for
    each of those writes before it counts as applied)."""
    targets = list(views)
    keys: set[str] = set()
    if link_by_email and lead.email:
        for ws in snap.workspaces.values():
            if (ws.get("Email__c") or "").lower() == lead.email:
                keys.add(_link(view_for(str(ws.get("Workspace_ID__c")).lower()), lead, snap))
        for view in targets:
            if (view.current("Email__c") or "").lower() == lead.email:
                keys.add(_link(view, lead, snap))
    if lead.is_converted:
        for ws in snap.workspaces.values():
            if str(ws.get("Lead__c") or "")[:15] == lead.id[:15]:
                view = view_for(str(ws.get("Workspace_ID__c")).lower())
                copy_converted(view, lead)
                keys.add(view.key)
    return keys


def _link(view: View, lead: LeadRow, snap: Snapshot) -> str:
    current_id = view.current("Lead__c")
    if not current_id:
        view.desired["Lead__c"] = lead.id
        return view.key
    if str(current_id)[:15] == lead.id[:15]:
        return view.key
    current = snap.lead(str(current_id))
    current_key = (not (current and current.is_converted),
                   current.created if current else "0000", str(current_id))
    if (not lead.is_converted, lead.created, lead.id) < current_key:
        view.desired["Lead__c"] = lead.id
    view.add_reasons.add(DUPLICATE_LEAD)
    return view.key

