r"""Split SOQL text into tokens, decoding string literals on the way.

String literals are decoded here, once, into two forms because SOQL gives ``\%`` and ``\_``
a meaning only inside LIKE: ``value`` is the string compared by ``=``/``IN`` (where those two
escapes keep their backslash), ``like`` is a ready regular expression in which unescaped
``%``/``_`` are wildcards. Every escape that ``simple_salesforce.format_soql`` produces is
accepted; any other backslash sequence is an error, as on Salesforce.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from emulator.soql.errors import MALFORMED_QUERY, located, unexpected

IDENT = "IDENT"
STRING = "STRING"
NUMBER = "NUMBER"
DATE = "DATE"
DATETIME = "DATETIME"
OP = "OP"
PUNCT = "PUNCT"
EOF = "EOF"

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_TOKEN = re.compile(
    rf"""
    (?P<ws>\s+)
    |(?P<datetime>\d{{4}}-\d{{2}}-\d{{2}}T\d{{2}}:\d{{2}}:\d{{2}}(?:\.\d+)?
        (?:Z|[+-]\d{{2}}:?\d{{2}})?)
    |(?P<date>\d{{4}}-\d{{2}}-\d{{2}})
    |(?P<number>-?(?:\d+(?:\.\d*)?|\.\d+))
    |(?P<ident>{_NAME}(?:\.{_NAME})*(?::\d+)?)
    |(?P<op>!=|<>|<=|>=|=|<|>)
    |(?P<punct>[(),])
    """,
    re.VERBOSE,
)
_SIMPLE_ESCAPES = {
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "b": "\b",
    "f": "\f",
    '"': '"',
    "'": "'",
    "\\": "\\",
}  # upper-case N R T B F are accepted too: lookups lower-case the code
_PLAIN_RUN = re.compile(r"[^'\\]+")  # anything up to a quote or a backslash
_KINDS = {"datetime": DATETIME, "date": DATE, "number": NUMBER, "ident": IDENT, "op": OP}


@dataclass(frozen=True)
class Token:
    """One token. ``offset`` indexes the source; ``value``/``like`` are set for strings."""

    kind: str
    text: str
    offset: int
    value: str = ""
    like: str = ""

    @property
    def upper(self) -> str:
        """The text upper-cased, for case-insensitive keyword matching."""
        return self.text.upper()


def tokenize(source: str) -> list[Token]:
    """All tokens of ``source``, ending with an EOF token; raises MALFORMED_QUERY."""
    tokens: list[Token] = []
    offset = 0
    while offset < len(source):
        if source[offset] == "'":
            token = _string(source, offset)
        else:
            match = _TOKEN.match(source, offset)
            if match is None:
                raise unexpected(source, offset, source[offset])
            offset = match.end()
            if match.lastgroup == "ws":
                continue
            kind = _KINDS.get(match.lastgroup or "", PUNCT)
            token = Token(kind, match.group(), match.start())
            _check_datetime(source, token)
        tokens.append(token)
        offset = token.offset + len(token.text)
    tokens.append(Token(EOF, "<EOF>", len(source)))
    return tokens


def _check_datetime(source: str, token: Token) -> None:
    """Salesforce refuses a dateTime literal without a zone; the regex leaves it optional."""
    if token.kind == DATETIME and not re.search(r"(Z|[+-]\d{2}:?\d{2})$", token.text):
        raise unexpected(source, token.offset, token.text)


def _string(source: str, start: int) -> Token:
    """The string literal opening at ``start``, with its equality and LIKE decodings."""
    value: list[str] = []
    like: list[str] = []
    i = start + 1
    while i < len(source):
        plain = _PLAIN_RUN.match(source, i)
        if plain is not None:  # a run of ordinary characters, decoded at once (IN lists)
            value.append(plain.group())
            like.append(_like_run(plain.group()))
            i = plain.end()
            continue
        if source[i] == "'":
            text = source[start : i + 1]
            return Token(STRING, text, start, "".join(value), "".join(like))
        i = _escape(source, start, i, value, like)
    raise unexpected(source, start, source[start:])


def _like_run(text: str) -> str:
    """Plain characters as a LIKE regex: ``%`` and ``_`` wildcards, the rest literal.

    :func:`re.escape` maps character by character and never writes ``%`` or ``_`` for another
    character, so escaping the run then replacing those two equals doing it per character.
    """
    return re.escape(text).replace("%", ".*").replace("_", ".")


def _escape(source: str, start: int, i: int, value: list[str], like: list[str]) -> int:
    """Decode the escape at ``source[i]`` (a backslash); return the offset after it."""
    code = source[i + 1 : i + 2]
    if code in ("%", "_"):
        value.append("\\" + code)
        like.append(re.escape(code))
        return i + 2
    if code.lower() in _SIMPLE_ESCAPES:
        char = _SIMPLE_ESCAPES[code.lower()]
        value.append(char)
        like.append(re.escape(char))
        return i + 2
    hex_digits = source[i + 2 : i + 6]
    if code == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", hex_digits):
        char = chr(int(hex_digits, 16))
        value.append(char)
        like.append(re.escape(char))
        return i + 6
    raise _bad_escape(source, start, i)


def _bad_escape(source: str, start: int, i: int) -> Exception:
    """Salesforce's complaint about a backslash sequence it does not define."""
    end = source.find("'", i + 2)
    literal = source[start + 1 : end if end >= 0 else len(source)]
    reason = (
        f"Invalid string literal '{literal}'. Illegal character sequence "
        f"'{source[i : i + 2]}' in string literal."
    )
    return located(MALFORMED_QUERY, source, start, reason)
