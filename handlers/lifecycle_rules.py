"""Trial, Conversion and Churn for one Workspace (seed 4.1-4.4, 5.1-5.3), as pure functions.

The Workspace's lifecycle fields are recomputed from every event it has seen (its history
lines plus this cycle's events) in ``Event_Timestamp__c`` order, so duplicates change nothing
and late events never move the status backwards. While no Trial has been seen, Conversion and
Churn events are parked in ``Event_Cache__c`` (status New) and the Workspace is flagged; when
the Trial arrives they are completed and the Lead work they imply (linking, conversion) runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

from handlers import conflicts, history, links, usage
from handlers.events import EventType, Lifecycle
from handlers.history import Entry, State
from handlers.plan import Fate, Outcome, Plan, cache_row, sf_datetime
from handlers.rule_settings import RuleSettings
from handlers.snapshot import Snapshot, WorkspaceRow
from handlers.view import View, parse_instant

WAITING_FOR_TRIAL = "No Trial event seen yet: Conversion/Churn arrived first"
_PARKABLE = (EventType.CONVERSION.value, EventType.CHURN.value)
DEFAULT_SETTINGS = RuleSettings()


def plan_workspace(key: str, events: Sequence[Lifecycle], snap: Snapshot, plan: Plan,
                   settings: RuleSettings = DEFAULT_SETTINGS) -> View:
    """The desired Workspace for ``events`` (all with this key), recording outcomes in ``plan``."""
    row = snap.workspaces.get(key)
    view = View.of(key, events[0].workspace_id, row)
    entries, foreign = _known_entries(row)
    events, defaulted = conflicts.with_default_expiration(
        events, (e.event_uuid for e in entries), settings)
    safe, bad_mrr = conflicts.out_of_range_mrr(events, settings)  # parked rows keep the MRR
    entries = history.merge(entries, safe)
    has_trial = any(e.kind == EventType.TRIAL.value for e in entries)
    entries = [replace(e, parked=not has_trial and e.kind in _PARKABLE) for e in entries]
    state = history.replay(entries)
    view.desired.update(_lifecycle_fields(state))
    view.desired["Trial_History__c"] = history.render(entries, foreign)
    view.desired["Email__c"] = _email(row, events)
    view.desired.update(_latest_usage(row, events))
    conflicts.add_notes(view, defaulted)
    if has_trial:
        view.drop_reasons.add(WAITING_FOR_TRIAL)
        _complete_parked(row, entries, plan)
    else:
        view.add_reasons.add(WAITING_FOR_TRIAL)
    _record_outcomes(key, events, entries, plan)
    conflicts.flag(view, plan, bad_mrr, conflicts.MRR_CONFLICT)
    conflicts.flag(view, plan, conflicts.email_conflicts(view.desired["Email__c"], events),
                   conflicts.EMAIL_CONFLICT)
    if has_trial:
        trials = [e for e in events if e.kind is EventType.TRIAL]
        links.link_lead_and_account(view, trials, snap, plan)
        if any(e.kind == EventType.CONVERSION.value for e in entries):
            links.convert(view, _conversion_sources(events), snap, plan)
        if settings.new_trial_task and row is None and trials:
            links.new_trial_task(view, trials, plan)
    return view


def _latest_usage(row: WorkspaceRow | None, events: Sequence[Lifecycle]) -> dict[str, str]:
    """The newest figures by event time; never replaced by those of an older event."""
    carrying = [e for e in events if e.usage]
    if not carrying:
        return {}
    newest = max(carrying, key=lambda e: (e.at, e.source.event_uuid))
    stored = row.get("Latest_Usage_At__c") if row else None
    stored_at = parse_instant(stored) if stored else None
    if stored_at is not None and newest.at < stored_at:
        return {}
    return {"Latest_Usage__c": usage.to_text(newest.usage),
            "Latest_Usage_At__c": sf_datetime(newest.at)}


def _known_entries(row: WorkspaceRow | None) -> tuple[list[Entry], list[str]]:
    """The record's history lines; a record with state but no lines gets a Base line first."""
    if row is None:
        return [], []
    entries, foreign = history.parse(row.get("Trial_History__c"))
    if not entries and row.get("Self_Serve_Status__c"):
        entries = [history.base_entry(_record_state(row))]
    return entries, foreign


def _record_state(row: WorkspaceRow) -> State:
    def day(name: str) -> dt.date | None:
        value = row.get(name)
        return dt.date.fromisoformat(value) if isinstance(value, str) and value else None

    last = row.get("Last_Event_Time__c")
    mrr = row.get("MRR__c")
    return State(
        status=row.get("Self_Serve_Status__c"), trial_start=day("Trial_Start_Date__c"),
        trial_expiration=day("Trial_Expiration_Date__c"), plan_type=row.get("Plan_Type__c"),
        mrr=None if mrr is None else Decimal(str(mrr)),
        subscription_id=row.get("Subscription_ID__c"), conversion_date=day("Conversion_Date__c"),
        churn_date=day("Churn_Date__c"), churn_reason=row.get("Churn_Reason__c"),
        last_event_at=parse_instant(last) if isinstance(last, str) else None)


def _lifecycle_fields(state: State) -> dict[str, object]:
    def day(value: dt.date | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "Self_Serve_Status__c": state.status,
        "Trial_Start_Date__c": day(state.trial_start),
        "Trial_Expiration_Date__c": day(state.trial_expiration),
        "Plan_Type__c": state.plan_type,
        "MRR__c": float(state.mrr) if state.mrr is not None else None,
        "Subscription_ID__c": state.subscription_id,
        "Conversion_Date__c": day(state.conversion_date),
        "Churn_Date__c": day(state.churn_date),
        "Churn_Reason__c": state.churn_reason,
        "Last_Event_Time__c": sf_datetime(state.last_event_at) if state.last_event_at else None,
    }


def _email(row: WorkspaceRow | None, events: Sequence[Lifecycle]) -> str | None:
    """Trials decide: last writer wins by event time, an older Trial only fills an empty
    email. Conversions and Churns only fill an empty one (a different one is a conflict)."""
    current = row.get("Email__c") if row else None
    email = str(current) if current else None
    trials = [e for e in events if e.email and e.kind is EventType.TRIAL]
    if trials:
        newest = max(trials, key=lambda e: (e.at, e.source.event_uuid))
        last = parse_instant(row.get("Last_Event_Time__c") or "") if row else None
        if not email or last is None or newest.at >= last:
            email = newest.email
    others = [e for e in events if e.email and e.kind is not EventType.TRIAL]
    if not email and others:
        email = max(others, key=lambda e: (e.at, e.source.event_uuid)).email
    return email


def _complete_parked(row: WorkspaceRow | None, entries: list[Entry], plan: Plan) -> None:
    """Parked rows of events that waited for the Trial: mark them Completed."""
    known, _ = history.parse(row.get("Trial_History__c") if row else None)
    for entry in known:
        if entry.parked:
            plan.cache_rows[entry.event_uuid] = {
                "Event_Uuid__c": entry.event_uuid, "Processing_Status__c": "Completed",
                "Needs_Review__c": False,
                "Processing_Notes__c": "applied once the Trial event arrived"}


def _record_outcomes(key: str, events: Sequence[Lifecycle], entries: list[Entry], plan: Plan
                     ) -> None:
    parked = {e.event_uuid for e in entries if e.parked}
    for event in events:
        uuid = event.source.event_uuid
        if uuid not in parked:
            plan.outcomes[event.source.entry_id] = Outcome(Fate.APPLIED, workspace_key=key)
            continue
        note = (f"{event.kind.value} applied to a Workspace that has seen no Trial event; "
                "parked until the Trial arrives (then its Lead is linked and converted)")
        plan.cache_rows[uuid] = cache_row(
            event.source, status="New", review=False, reason="waiting for Trial", note=note,
            event_type=event.kind.value, workspace_id=event.workspace_id,
            event_data=_details_json(event), at=event.at)
        plan.outcomes[event.source.entry_id] = Outcome(Fate.PARKED, note, "",  # not an error
                                                       key, uuid)


def _details_json(event: Lifecycle) -> str:
    return Entry.of(event).details_json


def _conversion_sources(events: Sequence[Lifecycle]) -> list[Lifecycle]:
    return [e for e in events if e.kind is EventType.CONVERSION]
