"""``Trial_History__c``: one line per lifecycle event applied, and the state they add up to.

Each line is ``<event time> <type> <details as JSON> id=<event UUID>[ parked]``, newest last,
readable by a rep and parseable by us. The lines are the Workspace's event log: its lifecycle
fields are recomputed by folding every known event in ``Event_Timestamp__c`` order, so the
result is the same whatever order (and however often) events arrive, and an older event never
moves the status backwards. ``parked`` marks a Conversion or Churn applied before any Trial was
seen (its ``Event_Cache__c`` row waits for the trial).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from handlers.events import EventType, Lifecycle

HISTORY_MAX_CHARS = 32_768  # Workspace__c.Trial_History__c
_LINE = re.compile(r"^(\S+) (Base|Trial|Conversion|Churn) (\{.*\}) id=(\S+)( parked)?$")
BASE = "Base"  # the state a Workspace had before its first line (set by hand or an old version)


_KIND_RANK = {BASE: 0, EventType.TRIAL.value: 1, EventType.CONVERSION.value: 2,
              EventType.CHURN.value: 3}  # lifecycle order, for events at the same instant


@functools.total_ordering
@dataclass(frozen=True)
class Entry:
    """One applied event as the history keeps it; ordered by time, then lifecycle (Base,
    Trial, Conversion, Churn: a Trial and its Conversion at the same instant keep the Trial's
    dates), then UUID."""

    at: dt.datetime
    kind: str
    event_uuid: str
    details_json: str
    parked: bool = False

    def sort_key(self) -> tuple[dt.datetime, int, str, str, str, bool]:
        return (self.at, _KIND_RANK.get(self.kind, 9), self.kind, self.event_uuid,
                self.details_json, self.parked)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Entry):
            return NotImplemented
        return self.sort_key() < other.sort_key()

    @classmethod
    def of(cls, event: Lifecycle) -> Entry:
        data = {k: _plain(v) for k, v in event.details if v is not None}
        return cls(event.at, event.kind.value, event.source.event_uuid,
                   json.dumps(data, sort_keys=True, ensure_ascii=False))

    def details(self) -> dict[str, Any]:
        return dict(json.loads(self.details_json))

    def line(self) -> str:
        stamp = self.at.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace(
            "+00:00", "Z")
        tail = " parked" if self.parked else ""
        return f"{stamp} {self.kind} {self.details_json} id={self.event_uuid}{tail}"


def _plain(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def parse(text: str | None) -> tuple[list[Entry], list[str]]:
    """(the lines we understand, the lines we don't: kept verbatim, first)."""
    entries: list[Entry] = []
    foreign: list[str] = []
    for line in (text or "").splitlines():
        found = _LINE.match(line.strip())
        if found is None:
            if line.strip():
                foreign.append(line.rstrip())
            continue
        try:
            at = dt.datetime.fromisoformat(found[1].replace("Z", "+00:00"))
            json.loads(found[3])
        except ValueError:
            foreign.append(line.rstrip())
            continue
        entries.append(Entry(at, found[2], found[4], found[3], bool(found[5])))
    return entries, foreign


def render(entries: list[Entry], foreign: list[str]) -> str:
    """The field text: foreign lines, then ours by time. Too long: foreign lines go first,
    then the oldest of ours, folded into a Base line with the state they add up to; the
    first Trial line stays, so the Workspace keeps its trial and its state replays equal."""
    ordered = sorted(entries)
    ours = [e.line() for e in ordered]
    lines = foreign + ours
    while lines and len(lines) > len(ours) and len("\n".join(lines)) > HISTORY_MAX_CHARS:
        lines.pop(0)
    if len("\n".join(lines)) <= HISTORY_MAX_CHARS:
        return "\n".join(lines)
    return "\n".join(e.line() for e in _trimmed(ordered))


def _trimmed(ordered: list[Entry]) -> list[Entry]:
    """The first Trial, a Base line folding the oldest entries, then the newest that fit."""
    trial_at = next((i for i, e in enumerate(ordered) if e.kind == EventType.TRIAL.value), -1)
    tail_chars = sum(len(e.line()) + 1 for e in ordered)
    state = State()
    kept: list[Entry] = []
    for count, entry in enumerate(ordered, start=1):
        state = fold(state, entry)
        tail_chars -= len(entry.line()) + 1
        head = [ordered[trial_at]] if 0 <= trial_at < count else []
        if head and head[0].at == entry.at and count < len(ordered):
            continue  # the Base line must sort after the Trial it follows
        kept = [*head, base_entry(state), *ordered[count:]]
        if sum(len(e.line()) + 1 for e in kept[:2]) + tail_chars <= HISTORY_MAX_CHARS:
            return kept
    return kept


def merge(known: list[Entry], new: list[Lifecycle]) -> list[Entry]:
    """Known entries plus new events, one entry per event UUID, sorted."""
    by_uuid = {e.event_uuid: e for e in known}
    for event in new:
        by_uuid.setdefault(event.source.event_uuid, Entry.of(event))
    return sorted(by_uuid.values())


@dataclass(frozen=True)
class State:
    """The lifecycle fields of a Workspace, as folded from its events."""

    status: str | None = None
    trial_start: dt.date | None = None
    trial_expiration: dt.date | None = None
    plan_type: str | None = None
    mrr: Decimal | None = None
    subscription_id: str | None = None
    conversion_date: dt.date | None = None
    churn_date: dt.date | None = None
    churn_reason: str | None = None
    last_event_at: dt.datetime | None = None


def fold(state: State, entry: Entry) -> State:
    """The state after one more event, applied in time order."""
    data = entry.details()
    day = entry.at.astimezone(dt.UTC).date()
    if entry.kind == BASE:  # older events may only fill what the base left empty
        return fill_empty(_base_state(data, entry.at), state)
    state = replace(state, last_event_at=entry.at)
    if entry.kind == EventType.TRIAL:
        expires = dt.date.fromisoformat(data["trial_expiration"])
        if state.status == "Paid":
            return state  # a paid workspace only gains the trial in its history
        if state.status == "Trial":
            return replace(state, trial_expiration=expires)
        return replace(state, status="Trial", trial_start=day, trial_expiration=expires)
    if entry.kind == EventType.CONVERSION:
        mrr = Decimal(data["mrr"]) if "mrr" in data else state.mrr  # an absurd MRR is left out
        return replace(state, status="Paid", plan_type=data["plan_type"],
                       mrr=mrr, subscription_id=data["subscription_id"],
                       conversion_date=day)
    return replace(state, status="Churned", churn_date=dt.date.fromisoformat(data["churn_date"]),
                   churn_reason=data.get("churn_reason"))


def base_entry(state: State) -> Entry:
    """The line that records a pre-existing Workspace's state, so replays start from it."""
    at = state.last_event_at or dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    data = {name: _plain(getattr(state, name)) for name in State.__dataclass_fields__
            if name != "last_event_at" and getattr(state, name) is not None}
    return Entry(at, BASE, "base", json.dumps(data, sort_keys=True, ensure_ascii=False))


def _base_state(data: dict[str, Any], at: dt.datetime) -> State:
    def day(name: str) -> dt.date | None:
        value = data.get(name)
        return dt.date.fromisoformat(value) if value else None

    mrr = data.get("mrr")
    return State(
        status=data.get("status"), trial_start=day("trial_start"),
        trial_expiration=day("trial_expiration"), plan_type=data.get("plan_type"),
        mrr=Decimal(mrr) if mrr is not None else None,
        subscription_id=data.get("subscription_id"), conversion_date=day("conversion_date"),
        churn_date=day("churn_date"), churn_reason=data.get("churn_reason"), last_event_at=at)


def replay(entries: list[Entry]) -> State:
    state = State()
    for entry in sorted(entries):
        state = fold(state, entry)
    return state


def fill_empty(base: State, older: State) -> State:
    """``base`` with its empty fields taken from ``older`` (never the status or the time)."""
    values = {name: getattr(older, name) for name in State.__dataclass_fields__
              if getattr(base, name) is None and name not in ("status", "last_event_at")}
    return replace(base, **values)
