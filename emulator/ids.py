"""Salesforce-shaped record IDs: three-character key prefix, 15 characters, 3-character checksum.

The checksum follows the documented algorithm: split the 15-character ID into three chunks of
five; in each chunk bit i is set when character i is an upper-case letter; map each 5-bit
number through ``ABCDEFGHIJKLMNOPQRSTUVWXYZ012345``.
"""

from __future__ import annotations

import secrets
import string

_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BODY_ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase


def checksum(id15: str) -> str:
    """The three-character suffix that turns a 15-character ID into its 18-character form."""
    out = []
    for chunk in range(3):
        bits = 0
        for i, ch in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        out.append(_CHECKSUM_ALPHABET[bits])
    return "".join(out)


def to18(record_id: str) -> str:
    """Normalise a 15- or 18-character ID to 18 characters (as the API always returns)."""
    if len(record_id) == 15:
        return record_id + checksum(record_id)
    return record_id


def is_valid(record_id: str) -> bool:
    """True when ``record_id`` is a well-formed 15- or 18-character ID with a right checksum."""
    if len(record_id) not in (15, 18) or not record_id.isalnum() or not record_id.isascii():
        return False
    return len(record_id) == 15 or checksum(record_id[:15]) == record_id[15:]


def make_id(key_prefix: str, serial: int, pod: str = "8d0") -> str:
    """An 18-character ID: prefix, a three-character pod, then ``serial`` in base 62."""
    body = _base62(serial).rjust(9, "0")
    id15 = f"{key_prefix}{pod}{body}"
    return id15 + checksum(id15)


def random_id(key_prefix: str) -> str:
    """An 18-character ID with a random body, for IDs not drawn from a table's sequence."""
    return make_id(key_prefix, secrets.randbelow(62**9))


def _base62(n: int) -> str:
    digits = []
    while True:
        n, rem = divmod(n, 62)
        digits.append(_BODY_ALPHABET[rem])
        if n == 0:
            return "".join(reversed(digits))
