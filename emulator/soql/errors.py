"""The one exception the SOQL engine raises, with Salesforce's error codes and message layout.

The REST layer turns a :class:`SoqlError` into ``[{"message": ..., "errorCode": ...}]`` without
looking inside, so the message must already be exactly what Salesforce would send. Salesforce
points at the offending spot of a query the same way for every query error::

    <the query line holding the error>
    <spaces>^
    ERROR at Row:1:Column:N
    <reason>

so every error that has a position in the query is built by :func:`located`.
"""

from __future__ import annotations

MALFORMED_QUERY = "MALFORMED_QUERY"
INVALID_FIELD = "INVALID_FIELD"
INVALID_TYPE = "INVALID_TYPE"
NUMBER_OUTSIDE_VALID_RANGE = "NUMBER_OUTSIDE_VALID_RANGE"
MAX_OFFSET = 2000


class SoqlError(Exception):
    """A query Salesforce would refuse.

    ``message`` is the full text Salesforce puts in the error body (query excerpt, caret,
    position and reason); ``reason`` is only the last line (for example ``unexpected token:
    OR``), handy in logs and tests. ``row`` and ``column`` are 1-based, 0 when unknown.
    """

    def __init__(
        self, error_code: str, message: str, reason: str = "", row: int = 0, column: int = 0
    ) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message
        self.reason = reason or message
        self.row = row
        self.column = column

    def __repr__(self) -> str:
        return f"SoqlError({self.error_code!r}, {self.reason!r}, row={self.row}, col={self.column})"


def position(source: str, offset: int) -> tuple[int, int]:
    """1-based (row, column) of ``offset`` in ``source``, as Salesforce counts them."""
    before = source[:offset]
    row = before.count("\n") + 1
    column = offset - (before.rfind("\n") + 1) + 1
    return row, column


def located(error_code: str, source: str, offset: int, reason: str) -> SoqlError:
    """An error pointing at ``offset`` in ``source`` in Salesforce's caret layout."""
    row, column = position(source, offset)
    line = source.split("\n")[row - 1] if source else ""
    caret = " " * (column - 1) + "^"
    message = f"\n{line}\n{caret}\nERROR at Row:{row}:Column:{column}\n{reason}"
    return SoqlError(error_code, message, reason, row, column)


def unexpected(source: str, offset: int, token_text: str) -> SoqlError:
    """The MALFORMED_QUERY Salesforce reports for a token the grammar does not allow there."""
    return located(MALFORMED_QUERY, source, offset, f"unexpected token: {token_text}")


def offset_too_large() -> SoqlError:
    """OFFSET beyond 2,000 rows (SOQL guide, "OFFSET": the maximum offset is 2,000)."""
    return SoqlError(NUMBER_OUTSIDE_VALID_RANGE, f"Maximum SOQL offset allowed is {MAX_OFFSET}")


def nested_too_deep(source: str, offset: int, limit: int) -> SoqlError:
    """MALFORMED_QUERY for a WHERE clause nested deeper than the emulator parses.

    Salesforce's own limit and wording for this are undocumented; any real query is far below.
    """
    reason = f"Conditions are nested too deeply (more than {limit} levels of parentheses and NOT)"
    return located(MALFORMED_QUERY, source, offset, reason)


def no_such_column(source: str, offset: int, column: str, entity: str) -> SoqlError:
    """INVALID_FIELD for a field name the object does not have."""
    reason = (
        f"No such column '{column}' on entity '{entity}'. If you are attempting to use a custom "
        "field, be sure to append the '__c' after the custom field name. Please reference your "
        "WSDL or the describe call for the appropriate names."
    )
    return located(INVALID_FIELD, source, offset, reason)


def unknown_relationship(source: str, offset: int, name: str) -> SoqlError:
    """INVALID_FIELD for a dotted path whose relationship name the object does not have."""
    reason = (
        f"Didn't understand relationship '{name}' in field path. If you are attempting to use a "
        "custom relationship, be sure to append the '__r' after the custom relationship name. "
        "Please reference your WSDL or the describe call for the appropriate names."
    )
    return located(INVALID_FIELD, source, offset, reason)


def unsupported_type(source: str, offset: int, name: str) -> SoqlError:
    """INVALID_TYPE for a FROM object the org does not have."""
    reason = (
        f"sObject type '{name}' is not supported. If you are attempting to use a custom object, "
        "be sure to append the '__c' after the entity name. Please reference your WSDL or the "
        "describe call for the appropriate names."
    )
    return located(INVALID_TYPE, source, offset, reason)


def too_long(limit: int) -> SoqlError:
    """A statement over the documented length (limits cheatsheet: 100,000 characters).

    The figure is documented; the wording is Salesforce's older "SOQL statements cannot be
    longer than 20,000 characters" with the current figure.
    """
    return SoqlError(MALFORMED_QUERY, f"SOQL statements cannot be longer than {limit} characters")


def string_too_long(source: str, offset: int, limit: int) -> SoqlError:
    """A WHERE string over the documented 4,000 characters; the wording is the emulator's."""
    return located(MALFORMED_QUERY, source, offset,
                   f"String literal is too long: at most {limit} characters are allowed")
