"""One REST call as handlers see it, independent of HTTP, so Composite can replay subrequests.

A handler takes a :class:`Call` and returns a :class:`Reply`. The call carries the open record
transaction: a plain request has its own; Composite subrequests share the Composite's (with a
savepoint each when ``allOrNone`` is false), which is how rollback spans them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from emulator.org.errors import ApiError, json_parser_error
from emulator.org.records import RecordTransaction
from emulator.org.runtime import Org

OLDEST_VERSION = 31.0
NEWEST_VERSION = 66.0
MAX_INT_DIGITS = 4000  # below Python's int-from-text limit (4300 digits)


@dataclass
class Reply:
    """Status, JSON-able body (None: no body) and extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Call:
    """A REST call: method, API version, path segments after ``vXX.X/``, args, headers, body."""

    org: Org
    tx: RecordTransaction
    method: str
    version: str
    segments: list[str]
    args: Mapping[str, str]
    headers: Mapping[str, str]
    raw_body: bytes | Any = b""
    dispatch: Callable[[Call], Reply] | None = None
    # Set by a Composite with ``allOrNone: true``: it overrides its sObject Collections
    # subrequests' own ``allOrNone`` (REST guide, "allOrNone Parameters in Composite and
    # Collections Requests").
    all_or_none: bool = False

    def header(self, name: str) -> str:
        """A request header, looked up case-insensitively."""
        lower = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lower), "")

    def json(self) -> Any:
        """The body as JSON; JSON_PARSER_ERROR (400) if it is not JSON."""
        if not isinstance(self.raw_body, bytes):
            return self.raw_body
        if not self.raw_body.strip():
            return None
        try:
            return json.loads(self.raw_body, parse_constant=_non_standard, parse_int=_integer)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise _parse_error(exc) from exc
        except RecursionError as exc:
            raise json_parser_error("Maximum JSON nesting depth exceeded") from exc

    def sub(self, method: str, path: str, body: Any, headers: Mapping[str, str]) -> Reply:
        """Run ``method path`` (a full ``/services/data/vXX.X/...`` path) in this transaction."""
        if self.dispatch is None:
            raise RuntimeError("this call cannot run subrequests")
        version, segments, args = split_url(path)
        sub = replace(self, method=method.upper(), version=version, segments=segments, args=args,
                      headers={**self.headers, **headers}, raw_body=body)
        return self.dispatch(sub)


def split_url(url: str) -> tuple[str, list[str], dict[str, str]]:
    """``/services/data/v62.0/sobjects/Lead/x?fields=a`` → ("62.0", [...], {"fields": "a"})."""
    parts = urlsplit(url)
    version, segments = split_path(parts.path)
    return version, segments, dict(parse_qsl(parts.query, keep_blank_values=True))


def split_path(path: str) -> tuple[str, list[str]]:
    """The API version and the segments after it; 404 for other paths, 410 for retired versions.

    ``path`` is the path as sent, still percent-encoded: it is split on ``/`` first and each
    segment decoded after, so an external ID holding ``%2F`` stays one segment. ``+`` stays a
    literal plus (it means a space only in query strings), as on Salesforce.
    """
    pieces = [unquote(p) for p in path.split("/") if p]
    if len(pieces) < 3 or pieces[:2] != ["services", "data"] or not pieces[2].startswith("v"):
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
    version = pieces[2][1:]
    try:
        number = float(version)
    except ValueError:
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist") from None
    if number > NEWEST_VERSION:
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
    if number < OLDEST_VERSION:
        raise ApiError(410, "GONE", f"Version {version} is retired and no longer available.")
    return version, pieces[3:]


def _integer(text: str) -> int | float:
    """A JSON integer; one too long for Python's int parser is an infinity (out of any range)."""
    if len(text) <= MAX_INT_DIGITS:
        return int(text)
    return -math.inf if text.startswith("-") else math.inf


def _non_standard(token: str) -> Any:
    """``NaN`` and ``Infinity`` are not JSON; Salesforce's parser (Jackson) refuses them."""
    raise json_parser_error(f"Non-standard token '{token}': enable "
                            "JsonParser.Feature.ALLOW_NON_NUMERIC_NUMBERS to allow")


def _parse_error(exc: Exception) -> ApiError:
    if isinstance(exc, json.JSONDecodeError):
        bad = exc.doc[exc.pos:exc.pos + 1] or "EOF"
        return json_parser_error(
            f"Unexpected character ('{bad}' (code {ord(bad[0]) if bad != 'EOF' else -1})): "
            f"expected a valid value at [line:{exc.lineno}, column:{exc.colno}]"
        )
    return json_parser_error("Invalid UTF-8 in the request body")
