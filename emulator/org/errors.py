"""The two ways an org call fails, kept apart because Salesforce reports them differently.

* :class:`ApiError` refuses a whole request: REST answers with its HTTP status and the error
  list ``[{"message", "errorCode"}]``; SOAP turns it into a fault.
* :class:`DmlError` fails one record's write. A single-record REST call answers 400 with the
  list (``fields`` included); sObject Collections and SOAP ``convertLead`` report it per record
  as ``{"statusCode", "message", "fields"}`` and go on with the other records.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

NOT_FOUND_MESSAGE = "The requested resource does not exist"
SESSION_MESSAGE = "Session expired or invalid"
UNEXPECTED_MESSAGE = (
    "An unexpected error occurred. Please include this ErrorId if you contact support: {error_id}"
)


@dataclass(frozen=True)
class ErrorItem:
    """One Salesforce error: code, message and (for record errors) the fields involved.

    ``fields`` is None for request errors, which carry no ``fields`` key at all.
    """

    code: str
    message: str
    fields: tuple[str, ...] | None = None

    def rest(self) -> dict[str, Any]:
        """The REST shape: ``errorCode`` (REST never says ``statusCode``)."""
        out: dict[str, Any] = {"message": self.message, "errorCode": self.code}
        if self.fields is not None:
            out["fields"] = list(self.fields)
        return out

    def per_record(self) -> dict[str, Any]:
        """The per-record shape of sObject Collections and platform-event publish results."""
        return {"statusCode": self.code, "message": self.message, "fields": list(self.fields or ())}


class ApiError(Exception):
    """A refused request: an HTTP status and the errors to put in the body."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.items = [ErrorItem(code, message)]
        self.headers = headers or {}

    @property
    def code(self) -> str:
        return self.items[0].code

    @property
    def message(self) -> str:
        return self.items[0].message

    def body(self) -> list[dict[str, Any]]:
        return [item.rest() for item in self.items]


class DmlError(Exception):
    """A record-level failure; ``errors`` are what Salesforce would list for that record."""

    def __init__(self, errors: Sequence[ErrorItem]) -> None:
        super().__init__("; ".join(f"{e.code}: {e.message}" for e in errors))
        self.errors = list(errors)

    @classmethod
    def one(cls, code: str, message: str, fields: Sequence[str] = ()) -> DmlError:
        return cls([ErrorItem(code, message, tuple(fields))])


class MultipleMatches(Exception):
    """An external ID matched several records: REST 300, Collections DUPLICATE_EXTERNAL_ID."""

    def __init__(self, object_name: str, field_name: str, record_ids: Sequence[str]) -> None:
        super().__init__(f"{object_name}.{field_name} matched {len(record_ids)} records")
        self.object_name = object_name
        self.field_name = field_name
        self.record_ids = list(record_ids)


def not_found() -> ApiError:
    return ApiError(404, "NOT_FOUND", NOT_FOUND_MESSAGE)


def no_external_id_field(name: str) -> ApiError:
    """Salesforce's answer when a path segment is neither a record ID nor an external ID field."""
    return ApiError(
        404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {name}"
    )


def invalid_session() -> ApiError:
    """401 with the list body simple-salesforce's re-login logic looks for."""
    return ApiError(401, "INVALID_SESSION_ID", SESSION_MESSAGE, {"WWW-Authenticate": "Token"})


def no_such_column(obj_name: object, column: str) -> ApiError:
    """INVALID_FIELD for a body or ``fields=`` name the object does not have."""
    name = getattr(obj_name, "name", obj_name)
    return ApiError(400, "INVALID_FIELD", f"No such column '{column}' on sobject of type {name}")


def json_parser_error(message: str) -> ApiError:
    return ApiError(400, "JSON_PARSER_ERROR", message)


def unexpected_error() -> ApiError:
    """500 UNKNOWN_EXCEPTION with an ErrorId in Salesforce's ``1234567890-12345 (-123456)`` form.

    What any failure the emulator did not foresee turns into: the client sees Salesforce's JSON
    error, never a traceback page; the ErrorId ties it to the server-side log entry.
    """
    error_id = (f"{secrets.randbelow(9 * 10**9) + 10**9}-{secrets.randbelow(10**6)} "
                f"({secrets.randbelow(2**32) - 2**31})")
    return ApiError(500, "UNKNOWN_EXCEPTION", UNEXPECTED_MESSAGE.format(error_id=error_id))
