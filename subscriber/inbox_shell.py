"""What both inbox backends share around their engine: the context-manager shell and the
identity read, so :class:`~subscriber.inbox.Inbox` (SQLite) and
:class:`~subscriber.inbox_pg.PgInbox` (PostgreSQL) differ only where their engines do."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

from subscriber.inbox_api import InboxIdentity

# Above the 72-hour replay window, so dedupe still sees every event Salesforce may replay.
DEFAULT_RETENTION_S = 7 * 24 * 3600.0


class InboxShell:
    """``with inbox:`` closes it; :meth:`identity` reads the ID written at creation (the
    SQLite file's, or the one ``db upgrade`` wrote), which tells a new inbox from a lost one.
    A backend implements :meth:`close` and :meth:`_read` and names its meta table in
    ``_IDENTITY_QUERY`` (a fixed statement: no value is ever formatted into it)."""

    _IDENTITY_QUERY = "SELECT key, value FROM meta WHERE key IN ('inbox_id', 'created_at')"

    def close(self) -> None:
        raise NotImplementedError

    def _read(self, query: str, args: Sequence[object] = ()) -> list[Any]:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def identity(self) -> InboxIdentity:
        found = dict(self._read(self._IDENTITY_QUERY))
        created = found.get("created_at")
        return InboxIdentity(str(found.get("inbox_id", "")),
                             None if created is None else float(created))
