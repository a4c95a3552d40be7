"""Unified-diff values for large text fields in UPDATE change events.

Salesforce may send only the difference of a large text value (Description, Long Text Area)
and list the field in ``diffFields``; subscribers must patch the old value and can check the
SHA-256 after ``+++``. The emulator sends a diff under the documented conditions so clients
meet the same payloads locally as in an org (CDC guide, "Sending Data Differences for Fields of
Updated Records").
"""

from __future__ import annotations

import difflib
import hashlib

MIN_DIFF_LENGTH = 1000
MAX_LENGTH_CHANGE = 0.5
MAX_CHANGED_LINE_SHARE = 0.25


def diff_value(old: str | None, new: str | None) -> str | None:
    """The diff to send instead of ``new``, or None when the full value must be sent.

    None when: either value is missing, the new value is under 1,000 characters, the length
    changed by more than 50%, more than 25% of all lines changed, or the diff is not shorter.
    """
    if old is None or new is None or len(new) < MIN_DIFF_LENGTH or old == new:
        return None
    if abs(len(new) - len(old)) > MAX_LENGTH_CHANGE * len(old):
        return None
    old_lines, new_lines = old.splitlines(), new.splitlines()
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    hunks = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    changed = sum((i2 - i1) + (j2 - j1) for _, i1, i2, j1, j2 in hunks)
    if changed > MAX_CHANGED_LINE_SHARE * (len(old_lines) + len(new_lines)):
        return None
    digest = hashlib.sha256(new.encode("utf-8")).hexdigest()
    parts = [f"--- \n+++ {digest}\n"]
    for _, i1, i2, j1, j2 in hunks:
        parts.append(_hunk(old_lines[i1:i2], new_lines[j1:j2], i1, j1))
    text = "".join(parts)
    return text if len(text) < len(new) else None


def _hunk(removed: list[str], added: list[str], old_at: int, new_at: int) -> str:
    """One context-free hunk; positions are 1-based, and 0-based when a side is empty."""
    old_start = old_at + 1 if removed else old_at
    new_start = new_at + 1 if added else new_at
    lines = [f"@@ -{old_start},{len(removed)} +{new_start},{len(added)} @@\n"]
    lines += [f"-{line}\n" for line in removed]
    lines += [f"+{line}\n" for line in added]
    return "".join(lines)
