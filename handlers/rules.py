"""The rules' entry point: (events, snapshot) → :class:`~handlers.plan.Plan`. No I/O.

Lifecycle events are grouped per Workspace and decided together (so a Workspace is decided once
per cycle); Lead changes then adjust the same Workspace views; invalid events and
``GAP_OVERFLOW`` are parked for review. Finally every view is compared with its record and
only the differences are written.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from handlers import lead_rules
from handlers.events import GapOverflow, Invalid, LeadChange, LeadGap, Lifecycle, Parsed
from handlers.lifecycle_rules import DEFAULT_SETTINGS, plan_workspace
from handlers.plan import Plan, invalid_row
from handlers.rule_settings import RuleSettings
from handlers.snapshot import Snapshot
from handlers.view import View

AUDIT_MAX_CHARS = 64  # Workspace__c.Last_Event_Uuid__c, Last_Replay_Id__c


def decide(events: Sequence[Parsed], snap: Snapshot, settings: RuleSettings = DEFAULT_SETTINGS
           ) -> Plan:
    """What to write for ``events`` given ``snap``; deterministic and free of side effects."""
    plan = Plan()
    views: dict[str, View] = {}
    by_workspace: dict[str, list[Lifecycle]] = defaultdict(list)
    for event in events:
        if isinstance(event, Lifecycle):
            by_workspace[event.key].append(event)
    for key in sorted(by_workspace):
        views[key] = plan_workspace(key, by_workspace[key], snap, plan, settings)

    def view_for(key: str) -> View:
        if key not in views:
            views[key] = View.of(key, key, snap.workspaces.get(key))
        return views[key]

    for event in events:
        _other(event, snap, views, view_for, plan)
    for key, view in views.items():
        body = view.changes()
        if body:
            plan.workspace_writes[key] = {**body, **_audit(by_workspace.get(key), events)}
    return plan


def _audit(own: list[Lifecycle] | None, events: Sequence[Parsed]) -> dict[str, str]:
    """Which event changed the Workspace (written only with a change, so a re-applied event
    writes nothing): its newest lifecycle event of the cycle, else the cycle's last Lead
    change (Lead-change cycles run alone: README, "Applying events")."""
    if own:
        source = max(own, key=lambda e: (e.at, e.source.event_uuid)).source
    else:
        others = [e for e in events if not isinstance(e, Lifecycle)]
        if not others:
            return {}
        source = others[-1].source
    return {"Last_Event_Uuid__c": source.event_uuid[:AUDIT_MAX_CHARS],
            "Last_Replay_Id__c": source.replay_hex[:AUDIT_MAX_CHARS]}


def _other(event: Parsed, snap: Snapshot, views: dict[str, View],
           view_for: lead_rules.ViewFor, plan: Plan) -> None:
    """Lead changes, gaps, overflows and invalid events (lifecycle events are done)."""
    if isinstance(event, LeadChange):
        lead_rules.apply_lead_change(event, snap, list(views.values()), view_for, plan)
    elif isinstance(event, LeadGap):
        lead_rules.apply_gap(event, snap, list(views.values()), view_for, plan)
    elif isinstance(event, GapOverflow):
        lead_rules.park_overflow(event, plan)
    elif isinstance(event, Invalid):
        plan.park(event.source, invalid_row(event), event.note, event.error_class)
