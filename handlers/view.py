"""A Workspace as the rules want it after this cycle, and the difference from Salesforce.

Only changed fields are written, so re-applying an event (a duplicate, or a retry after a crash
between the Salesforce write and the inbox update) writes nothing at all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from handlers.snapshot import WorkspaceRow

REVIEW_SEPARATOR = "; "
REVIEW_MAX_CHARS = 255
_DATETIME_FIELDS = frozenset({"Last_Event_Time__c", "Latest_Usage_At__c"})
_MONEY_FIELDS = frozenset({"MRR__c"})
ID_FIELDS = frozenset({"Lead__c", "Account__c", "Contact__c", "Opportunity__c"})


@dataclass
class View:
    """The desired fields of one Workspace (write format: dates as text, MRR as a number)."""

    key: str
    workspace_id: str
    row: WorkspaceRow | None
    desired: dict[str, Any] = field(default_factory=dict)
    add_reasons: set[str] = field(default_factory=set)
    drop_reasons: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, key: str, workspace_id: str, row: WorkspaceRow | None) -> View:
        return cls(key, row.get("Workspace_ID__c") if row else workspace_id, row)

    def current(self, name: str) -> Any:
        """The desired value if set this cycle, else the record's."""
        if name in self.desired:
            return self.desired[name]
        return self.row.get(name) if self.row else None

    def changes(self) -> dict[str, Any]:
        """The upsert body (by Workspace_ID__c) for what differs; empty when nothing does."""
        desired = dict(self.desired)
        desired.update(self._review())
        if self.row is None:
            body = {k: v for k, v in desired.items() if v is not None}
            return {"Name": self.workspace_id, **body, "Workspace_ID__c": self.workspace_id}
        body = {k: v for k, v in desired.items() if not same(k, self.row.get(k), v)}
        return {**body, "Workspace_ID__c": self.workspace_id} if body else {}

    def _review(self) -> dict[str, Any]:
        text = (self.row.get("Review_Reason__c") if self.row else None) or ""
        existing = {r for r in text.split(REVIEW_SEPARATOR) if r}
        reasons = (existing - self.drop_reasons) | self.add_reasons
        joined = REVIEW_SEPARATOR.join(sorted(reasons))[:REVIEW_MAX_CHARS]
        if reasons == existing or joined == text:  # (a cut text reads back as other reasons)
            return {}
        fields: dict[str, Any] = {"Review_Reason__c": joined or None}
        if self.add_reasons - existing:
            fields["Needs_Review__c"] = True
        elif not reasons:
            fields["Needs_Review__c"] = False
        return fields


def same(name: str, current: Any, desired: Any) -> bool:
    """True when the record's SOQL value already equals the desired write value."""
    if current in (None, "") and desired in (None, ""):
        return True
    if current is None or desired is None:
        return False
    if name in _DATETIME_FIELDS:
        return parse_instant(current) == parse_instant(desired)
    if name in _MONEY_FIELDS:
        return _money(current) == _money(desired)
    if name in ID_FIELDS:  # 15- and 18-character forms name the same record
        return str(current)[:15] == str(desired)[:15]
    if isinstance(current, str) and isinstance(desired, str):  # long text may come back CRLF
        return current.replace("\r\n", "\n") == desired.replace("\r\n", "\n")
    return bool(current == desired)


def parse_instant(value: Any) -> dt.datetime | None:
    """A Salesforce datetime (``…Z``, ``…+0000`` or ISO) as an aware datetime; None if it is
    none. The one parser of Salesforce timestamps (view comparisons, lifecycle rules)."""
    text = str(value).replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]  # Salesforce writes +0000
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None


def _money(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None

