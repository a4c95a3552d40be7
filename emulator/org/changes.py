"""What a committed write did to one record: the seam between the record store and CDC.

The record store reports every committed transaction as a list of :class:`RecordChange`
(in order); Change Data Capture turns the Lead ones into ``LeadChangeEvent`` messages. Keeping
this a plain value lets REST, collections, composite and SOAP conversion all publish change
events the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ChangeType = Literal["CREATE", "UPDATE", "DELETE", "UNDELETE"]


@dataclass(frozen=True)
class RecordChange:
    """One record's change inside a transaction.

    ``before``/``after`` hold field values keyed by the canonical field API name (Python
    values: str, bool, float, ``datetime.date``, aware ``datetime.datetime``, None).
    ``changed_fields`` are the names whose value differs (for UPDATE) or was set (CREATE).
    ``origin`` is the ``changeOrigin`` string, e.g. ``com/salesforce/api/rest/62.0;client=x``.
    """

    object_name: str
    change_type: ChangeType
    record_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    changed_fields: frozenset[str]
    user_id: str
    origin: str
    commit_timestamp_ms: int


@dataclass(frozen=True)
class Transaction:
    """A committed transaction: its key and its changes in sequence order."""

    transaction_key: str
    changes: tuple[RecordChange, ...] = field(default=())
