"""Lead assignment rules and the REST ``Sforce-Auto-Assign`` header, as Salesforce documents them.

An org has assignment rules per object; at most one is active. A rule is an ordered list of
entries; the first entry whose criteria all match sets the record's owner. Lead Settings name a
default Lead owner for records no entry matches. Sources:

* REST API Developer Guide, "Assignment Rule Header" (``headers_autoassign.htm``): the header
  applies when creating or updating Accounts, Cases or Leads. ``TRUE``: active assignment rules
  are applied; ``FALSE``: they are not; a valid AssignmentRule ID: that rule is applied *for
  created* records. ``TRUE``/``FALSE`` are not case-sensitive. Without the header the default
  is ``TRUE``.
* SOAP API Developer Guide, "AssignmentRuleHeader": ``assignmentRuleId`` may name an active or
  inactive rule; a value that is not a 15- or 18-character ID fails the call with
  ``MALFORMED_ID``. The REST guide is silent on a malformed header value; this emulator answers
  the same ``MALFORMED_ID`` (400) rather than guess a silent fallback.
* Apex ``DmlOptions.AssignmentRuleHeader``: from API 30.0, when the org has no (active) rule the
  record is left unassigned, i.e. it keeps its owner (the creating user).
* Salesforce Help, "Assignment Rules": entries are evaluated in order, the first match wins;
  no match assigns the default Lead owner from Lead Settings. Text criteria compare without
  regard to case; ``equals``/``contains``/``starts with`` accept comma-separated values, any of
  which may match.

Modelled: Lead rules, created records (REST ``sobjects/Lead`` and Collections create, also as
Composite subrequests, which inherit the Composite's headers). Not modelled: Case and Account
territory rules, re-assignment on update, queues as owners, formula criteria. Rules live in
memory and are set through the admin API (``POST /org/assignment-rules``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from emulator.catalog import ObjectDef
from emulator.ids import is_valid, random_id, to18
from emulator.org.errors import ApiError

HEADER = "Sforce-Auto-Assign"
RULE_PREFIX = "01Q"
OPERATORS = ("equals", "notEqual", "contains", "startsWith")
Assign = Callable[[Mapping[str, Any]], str | None]

if TYPE_CHECKING:
    from emulator.org.calls import Call


@dataclass(frozen=True)
class Criterion:
    """``field operator value``; ``value`` may list alternatives separated by commas."""

    field: str
    operator: str
    value: str

    def matches(self, record: Mapping[str, Any]) -> bool:
        actual = str(record.get(self.field) or "").casefold()
        options = [v.strip().casefold() for v in self.value.split(",")]
        if self.operator == "notEqual":
            return actual not in options
        if self.operator == "contains":
            return any(o in actual for o in options if o)
        if self.operator == "startsWith":
            return any(actual.startswith(o) for o in options if o)
        return actual in options


@dataclass(frozen=True)
class RuleEntry:
    order: int
    criteria: tuple[Criterion, ...]
    owner_id: str


@dataclass(frozen=True)
class AssignmentRule:
    id: str
    name: str
    sobject: str
    active: bool
    entries: tuple[RuleEntry, ...]

    def owner_for(self, record: Mapping[str, Any]) -> str | None:
        for entry in sorted(self.entries, key=lambda e: e.order):
            if all(c.matches(record) for c in entry.criteria):
                return entry.owner_id
        return None


@dataclass
class AssignmentRules:
    """The org's rules and Lead Settings' default owner; thread-safe."""

    rules: dict[str, AssignmentRule] = field(default_factory=dict)
    default_lead_owner: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str, sobject: str, active: bool, entries: Sequence[RuleEntry]
            ) -> AssignmentRule:
        """A new rule; activating it deactivates the object's other rules (one active)."""
        rule = AssignmentRule(to18(random_id(RULE_PREFIX)), name, sobject, active, tuple(entries))
        with self._lock:
            if active:
                self.rules = {k: _inactive(r) if r.sobject == sobject else r
                              for k, r in self.rules.items()}
            self.rules[rule.id] = rule
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules = {}
            self.default_lead_owner = None

    def for_create(self, sobject: str, header: str) -> Assign | None:
        """What assigns a record created with this header value, or None (keep the owner)."""
        value = header.strip()
        if sobject != "Lead" or value.upper() == "FALSE":
            return None
        with self._lock:
            if value == "" or value.upper() == "TRUE":
                rule = next((r for r in self.rules.values() if r.active and r.sobject == sobject),
                            None)
            elif is_valid(value):
                rule = self.rules.get(to18(value))
            else:
                raise ApiError(400, "MALFORMED_ID",
                               f"{HEADER}: '{value[:40]}' is not TRUE, FALSE or an ID")
            default = self.default_lead_owner
        if rule is None:
            return None
        return lambda record: rule.owner_for(record) or default


def assigner(call: Call, obj: ObjectDef) -> Assign | None:
    """The hook REST and Collections creates pass to :func:`emulator.org.dml.create`."""
    return call.org.assignment.for_create(obj.name, call.header(HEADER))


def _inactive(rule: AssignmentRule) -> AssignmentRule:
    return AssignmentRule(rule.id, rule.name, rule.sobject, False, rule.entries)


def entries_from_json(raw: Any) -> list[RuleEntry]:
    """Admin API body entries: ``[{"order", "criteria": [{"field", "operator", "value"}],
    "owner_id"}]``; a ValueError names what is wrong."""
    out = []
    for item in raw or []:
        criteria = tuple(Criterion(str(c["field"]), str(c.get("operator", "equals")),
                                   str(c["value"])) for c in item.get("criteria", []))
        bad = [c.operator for c in criteria if c.operator not in OPERATORS]
        if bad:
            raise ValueError(f"unknown operator {bad[0]!r}; expected one of {OPERATORS}")
        owner = str(item["owner_id"])
        if not is_valid(owner):
            raise ValueError(f"owner_id {owner!r} is not a Salesforce ID")
        out.append(RuleEntry(int(item["order"]), criteria, to18(owner)))
    return out
