"""A damaged inbox file is refused with a message naming that file (in process, on real
files): garbage where the inbox should be, and an inbox whose pages were overwritten."""

from __future__ import annotations

from pathlib import Path

import pytest

from subscriber.errors import Fatal
from subscriber.events import DecodedEvent, EntryKind
from subscriber.inbox import Inbox

TOPIC = "/event/SelfServeTrialEvent__e"


def test_a_file_that_is_not_an_inbox_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "inbox.db"
    path.write_bytes(b"not a database, just text " * 200)
    with pytest.raises(Fatal, match="is not a usable inbox") as raised:
        Inbox(path)
    assert str(raised.value).startswith(str(path))


def test_an_inbox_with_overwritten_pages_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "inbox.db"
    with Inbox(path) as inbox:
        inbox.store_batch(TOPIC, [DecodedEvent(TOPIC, bytes([n]), f"uuid-{n}", "schema",
                                               EntryKind.EVENT, {"note": "x" * 2000})
                                  for n in range(1, 40)], b"\x27")
    data = bytearray(path.read_bytes())
    page = 4096
    for start in range(2 * page, len(data) - page, page):  # every page past the schema's
        data[start:start + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    with pytest.raises(Fatal, match="is not a usable inbox") as raised:
        Inbox(path)
    assert str(raised.value).startswith(str(path))
