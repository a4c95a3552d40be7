"""Index keys: the forms under which stored values and SOQL literals are looked up.

An index only narrows the rows a filter is checked on; every candidate is still checked with
:func:`emulator.soql.compare.compare`. So a key need not decide equality, only never separate
two values that compare equal: :func:`equality_key` is built from the very ``normalize`` that
``compare`` uses for ``=`` and ``IN``, and :func:`like_key` folds case the way the regular
expression behind ``LIKE`` (``re.IGNORECASE``) does for ASCII patterns.
"""

from __future__ import annotations

import enum
from collections.abc import Hashable
from typing import Any

from emulator.catalog import FieldDef
from emulator.soql.compare import is_null, normalize


class _Null(enum.Enum):
    """The key of every null (or empty) value: one bucket, so ``= null`` can use an index."""

    KEY = 0


NULL = _Null.KEY

# Under re.IGNORECASE a pattern character c matches x when x's simple lowercase equals c's,
# plus a few fixed equivalences (sre_compile's _equivalences). For ASCII pattern characters
# that makes these non-ASCII characters match too: tests check the table against ``re``
# over all of Unicode.
_LIKE_FOLD = {
    **{code: code + 32 for code in range(ord("A"), ord("Z") + 1)},
    0x0130: ord("i"),  # LATIN CAPITAL LETTER I WITH DOT ABOVE (lowercase: i)
    0x0131: ord("i"),  # LATIN SMALL LETTER DOTLESS I (equivalent to i)
    0x017F: ord("s"),  # LATIN SMALL LETTER LONG S (equivalent to s)
    0x212A: ord("k"),  # KELVIN SIGN (lowercase: k)
}


def equality_key(value: Any, field: FieldDef) -> Hashable:
    """The key of ``value`` in ``field``'s equality index; :data:`NULL` for null or empty.

    Raises when ``value`` cannot be normalized for the field (a word for a number); callers
    then fall back to reading every row.
    """
    if is_null(value):
        return NULL
    key: Hashable = normalize(value, field)
    return key


def like_key(text: str) -> str:
    """``text`` folded so that an ASCII ``LIKE`` prefix matches iff its fold is a prefix."""
    return text.translate(_LIKE_FOLD)


def like_prefix(pattern: str) -> str:
    """The literal characters a ``LIKE`` regex (see the lexer) starts with, before a wildcard.

    The lexer writes each literal character with :func:`re.escape` and ``%`` / ``_`` as ``.*``
    / ``.``, so an unescaped ``.`` is the first wildcard.
    """
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            out.append(pattern[i + 1])
            i += 2
        elif char in ".*?+[](){}|^$\\":
            break
        else:
            out.append(char)
            i += 1
    return "".join(out)


def indexable_prefix(pattern: str) -> str | None:
    """The folded prefix to look up for a ``LIKE`` regex, or None when only a scan will do."""
    prefix = like_prefix(pattern)
    if not prefix or not prefix.isascii():
        return None
    return like_key(prefix)
