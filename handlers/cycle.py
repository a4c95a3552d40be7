"""One apply cycle: entries → events → snapshot → plan → writes → each entry's fate.

Calls, in order and only when needed: one lookup (a Composite of queries), one Lead creation
(sObject Collections), one ``convertLead``, one Composite of upserts, and one more upsert of
``Event_Cache__c`` rows when records were refused and must be parked. With Lead creation
under an assignment rule, one retrieve of the new Leads' owners; with ``new_trial_task``, one
Collections create of the new Workspaces' Tasks. Nothing is reported
applied unless Salesforce confirmed the writes it depends on (or its parking). A whole-call
failure raises :class:`~handlers.errors.GatewayError` before any entry is settled; what was
already written is written again, harmlessly, by the next cycle (the rules are idempotent).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from handlers.errors import GatewayError
from handlers.events import LeadChange, LeadGap, Lifecycle, Parsed
from handlers.gateway_api import Gateway, RecordError, WriteResult
from handlers.history import Entry
from handlers.lookup import lookup_request, stored_contact_emails
from handlers.parse import parse_entry
from handlers.plan import Fate, Outcome, Plan, cache_row
from handlers.rules import decide
from handlers.snapshot import Snapshot
from subscriber.events import InboxEntry


@dataclass
class CycleResult:
    """Entry IDs by fate: applied, parked (with note), to retry (with reason)."""

    applied: list[int] = field(default_factory=list)
    parked: dict[int, str] = field(default_factory=dict)
    retry: dict[int, str] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (error class, message)


def run_cycle(entries: Sequence[InboxEntry], gateway: Gateway, client_name: str
              ) -> CycleResult:
    events = [parse_entry(entry, client_name) for entry in entries]
    snap = _read(events, gateway)
    settings = gateway.rules
    plan = decide(events, snap, settings)
    if plan.lead_drafts:
        created, failed = gateway.create_leads(plan.lead_drafts)
        snap = snap.with_leads(created, failed)
        plan = decide(events, snap, settings)
    if plan.conversions:
        _save_found_links(plan, snap, gateway)
        converted, failed = gateway.convert(list(plan.conversions.values()))
        snap = snap.with_conversions(converted, failed)
        plan = decide(events, snap, settings)
    written = gateway.write(plan.workspace_writes, plan.cache_rows)
    result = _settle(events, plan, written, gateway)
    result.problems += _trial_tasks(plan, written, gateway)
    return result


def _trial_tasks(plan: Plan, written: WriteResult, gateway: Gateway) -> list[tuple[str, str]]:
    """The "New self-serve trial" Tasks of the Workspaces just created (one call). At most
    once: a failure is reported, never retried (the next cycle sees the Workspace exists)."""
    tasks = [{**body, "WhatId": written.workspace_ids[key]}
             for key, body in sorted(plan.trial_tasks.items()) if key in written.workspace_ids]
    if not tasks:
        return []
    try:
        refused = gateway.create_tasks(tasks)
    except GatewayError as exc:
        refused = [str(exc)]
    return [("new trial task refused", f"a New self-serve trial Task was refused: {why}")
            for why in refused]


def _save_found_links(plan: Plan, snap: Snapshot, gateway: Gateway) -> None:
    """Write the Workspaces first whose new Lead link is a Lead found by email (it carries
    no Workspace_ID__c) that this cycle converts. After convertLead that Lead is no longer
    open, so if the cycle then stops (a crash, a failed write) before the Workspace names
    it, the next cycle would not find it again and would create a duplicate Lead. Rare (a
    found Lead converted in its Trial's cycle), so the extra call is too."""
    early = {}
    for key, body in plan.workspace_writes.items():
        lead = snap.lead(str(body.get("Lead__c") or ""))
        if (lead is not None and lead.id in plan.conversions
                and (lead.workspace_id or "").lower() != key):
            early[key] = body
    if early:
        gateway.write(early, {})


def _read(events: Sequence[Parsed], gateway: Gateway) -> Snapshot:
    """The snapshot; Leads re-read for gap events, and Workspaces whose Conversion carries no
    email, may name emails a second lookup must add (only then: one more call)."""
    request = lookup_request(events)
    snap = gateway.lookup(request) if not request.empty else Snapshot()
    gap_ids = {i for e in events if isinstance(e, LeadGap) for i in e.lead_ids}
    extra = sorted({lead.email for lead in snap.leads if lead.id in gap_ids and lead.email}
                   - set(request.workspace_emails))
    contacts = stored_contact_emails(events, snap, request)
    if not extra and not contacts:
        return snap
    return gateway.lookup(lookup_request(events, extra, contacts))


def _settle(events: Sequence[Parsed], plan: Plan, written: WriteResult, gateway: Gateway
            ) -> CycleResult:
    result = CycleResult(problems=list(plan.warnings))
    to_park: dict[int, tuple[Outcome, RecordError]] = {}
    for event in events:
        entry_id = event.source.entry_id
        outcome = plan.outcomes.get(entry_id, Outcome(Fate.APPLIED))
        error = _blocking_error(outcome, written)
        if error is None:
            _done(result, entry_id, outcome)
        elif error.transient or _cache_failed(outcome, written):
            result.retry[entry_id] = str(error)
        else:
            to_park[entry_id] = (outcome, error)
    if to_park:
        _park_refused(events, to_park, gateway, result)
    return result


def _blocking_error(outcome: Outcome, written: WriteResult) -> RecordError | None:
    if outcome.cache_uuid is not None and outcome.cache_uuid in written.cache_errors:
        return written.cache_errors[outcome.cache_uuid]
    errors = [written.workspace_errors[k] for k in outcome.all_workspace_keys
              if k in written.workspace_errors]
    transient = [e for e in errors if e.transient]
    return next(iter(transient or errors), None)


def _cache_failed(outcome: Outcome, written: WriteResult) -> bool:
    return outcome.cache_uuid is not None and outcome.cache_uuid in written.cache_errors


def _done(result: CycleResult, entry_id: int, outcome: Outcome) -> None:
    if outcome.fate is Fate.PARKED:
        result.parked[entry_id] = outcome.note
        if outcome.error_class:
            result.problems.append((outcome.error_class, outcome.note))
    else:
        result.applied.append(entry_id)


def _park_refused(events: Sequence[Parsed], refused: dict[int, tuple[Outcome, RecordError]],
                  gateway: Gateway, result: CycleResult) -> None:
    """Salesforce refused a Workspace write for good: park its events (one more call)."""
    rows = {}
    notes = {}
    for event in events:
        if event.source.entry_id not in refused:
            continue
        _, error = refused[event.source.entry_id]
        note = f"Salesforce refused the Workspace write: {error}"
        if isinstance(event, Lifecycle):
            row = cache_row(event.source, status="Error", review=True, reason=error.code,
                            note=note, event_type=event.kind.value,
                            workspace_id=event.workspace_id,
                            event_data=Entry.of(event).details_json, at=event.at)
        elif isinstance(event, LeadChange | LeadGap):  # a Lead change's Workspace links
            row = cache_row(event.source, status="Error", review=True, reason=error.code,
                            note=f"{note} (Lead {', '.join(event.lead_ids)})",
                            event_type=event.change_type)
        else:
            continue
        rows[event.source.event_uuid] = row
        notes[event.source.entry_id] = (event.source.event_uuid, note, error.code)
    parked = gateway.write({}, rows)
    for entry_id, (uuid, note, code) in notes.items():
        if uuid in parked.cache_errors:
            result.retry[entry_id] = str(parked.cache_errors[uuid])
        else:
            result.parked[entry_id] = note
            result.problems.append((code, note))
