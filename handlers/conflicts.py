"""Events that disagree with what Salesforce holds (seed 4.5, "conflicting data"), as pure
functions: the safe part is applied, the rest is left alone and sent to review.

* A Conversion or Churn whose email differs from the Workspace's: the Workspace keeps its
  email (the Trial's owner), the lifecycle change is applied.
* A Workspace whose Lead is already linked to another Workspace (the Lead's own
  ``Workspace_ID__c`` names another one, or another Workspace read this cycle links it): the
  Lead is not linked (nor a new one created); the Account is still matched.
* An MRR below 0 or above ``apply.mrr_ceiling``: the Conversion is applied without it (the
  Workspace keeps its previous MRR).

Each conflict adds a ``Review_Reason__c`` naming it and a line to the Workspace's
``Processing_Notes__c``, and upserts an ``Event_Cache__c`` row for the event (Completed, with
``Needs_Review__c``) so ``lifecycle-sync review`` lists it; ``review dismiss`` closes it.
Also here: the default trial expiration (``apply.trial_length_days``), noted the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import replace
from decimal import Decimal

from handlers.events import EventType, Lifecycle
from handlers.history import Entry
from handlers.plan import NOTES_MAX_CHARS, Fate, Outcome, Plan, cache_row, sf_datetime
from handlers.rule_settings import RuleSettings
from handlers.view import View

EMAIL_CONFLICT = "Conflict: event email differs from the Workspace's"
LEAD_CONFLICT = "Conflict: Lead already linked to another Workspace"
MRR_CONFLICT = "Conflict: MRR negative or above the ceiling"
NOTES = "Processing_Notes__c"


def with_default_expiration(events: Sequence[Lifecycle], known: Iterable[str],
                            settings: RuleSettings) -> tuple[list[Lifecycle], list[str]]:
    """Trials without ``trial_expiration`` get event date + trial length; a note line for each
    one not applied before (``known`` UUIDs keep the date their history line recorded)."""
    out: list[Lifecycle] = []
    notes: list[str] = []
    seen = set(known)
    for event in events:
        if event.kind is not EventType.TRIAL or event.trial_expiration is not None:
            out.append(event)
            continue
        ends = event.at.astimezone(dt.UTC).date() + dt.timedelta(days=settings.trial_length_days)
        details = tuple((k, ends if k == "trial_expiration" else v) for k, v in event.details)
        out.append(replace(event, details=details))
        if event.source.event_uuid not in seen:
            notes.append(_line(event, f"no trial_expiration in the event: set to {ends} "
                                      f"(event date + {settings.trial_length_days} days)"))
    return out, notes


def out_of_range_mrr(events: Sequence[Lifecycle], settings: RuleSettings
                     ) -> tuple[list[Lifecycle], list[tuple[Lifecycle, str]]]:
    """Conversions with an MRR outside 0..ceiling lose it; (event, note) for each."""
    out: list[Lifecycle] = []
    found: list[tuple[Lifecycle, str]] = []
    for event in events:
        mrr = event.mrr
        if mrr is None or Decimal(0) <= mrr <= settings.mrr_ceiling:
            out.append(event)
            continue
        shown = f"{mrr:.2f}" if abs(mrr) < 10**15 else f"{mrr:.3E}"
        found.append((event, f"MRR {shown} is outside 0..{settings.mrr_ceiling}: not written, "
                             "the rest of the Conversion applied"))
        out.append(replace(event, details=tuple(d for d in event.details if d[0] != "mrr")))
    return out, found


def email_conflicts(email: object, events: Sequence[Lifecycle]) -> list[tuple[Lifecycle, str]]:
    """Non-Trial events whose email is not the Workspace's (``email``, already decided)."""
    if not isinstance(email, str) or not email:
        return []
    return [(e, f"{e.kind.value} names another email than the Workspace's: kept the "
                "Workspace's email, applied the rest")
            for e in events if e.kind is not EventType.TRIAL and e.email
            and e.email.casefold() != email.casefold()]


def flag(view: View, plan: Plan, found: Sequence[tuple[Lifecycle, str]], reason: str) -> None:
    """Review reason, notes and a review row per event (a parked event keeps its own row)."""
    if not found:
        return
    view.add_reasons.add(reason)
    add_notes(view, [_line(event, note) for event, note in found])
    for event, note in found:
        entry_id, uuid = event.source.entry_id, event.source.event_uuid
        outcome = plan.outcomes.get(entry_id)
        if outcome is not None and outcome.fate is Fate.PARKED:
            continue
        earlier = plan.cache_rows.get(uuid)
        if earlier is not None and earlier.get("Processing_Status__c") == "Completed" \
                and earlier.get("Needs_Review__c"):
            reason_text = f"{earlier['Review_Reason__c']}; {reason}"
            note = f"{earlier['Processing_Notes__c']}\n{note}"
        else:
            reason_text = reason
        plan.cache_rows[uuid] = cache_row(
            event.source, status="Completed", review=True, reason=reason_text, note=note,
            event_type=event.kind.value, workspace_id=event.workspace_id,
            event_data=Entry.of(event).details_json, at=event.at)
        plan.outcomes[entry_id] = Outcome(Fate.APPLIED, workspace_key=view.key, cache_uuid=uuid)


def add_notes(view: View, lines: Sequence[str]) -> None:
    """Append the lines not there yet (re-applying an event adds nothing); oldest cut first."""
    current = str(view.current(NOTES) or "")
    new = [line for line in lines if line not in current]
    if new:
        text = "\n".join([current, *new]) if current else "\n".join(new)
        view.desired[NOTES] = text[-NOTES_MAX_CHARS:]


def _line(event: Lifecycle, note: str) -> str:
    return f"{sf_datetime(event.at)} {event.kind.value} {event.source.event_uuid}: {note}"
