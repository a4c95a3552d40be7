"""How each configuration value is parsed and checked: the parsers the schema table
(:mod:`service.config_schema`) names for its keys. Each returns the parsed value or raises
:class:`Invalid` with a message that says what was expected (never echoing a secret)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Parser = Callable[[Any], Any]


@dataclass(frozen=True)
class Field:
    """One key: how to parse a TOML or environment value, and its default (None: no default)."""

    parse: Parser
    default: Any = None
    required: bool = False


class Invalid(ValueError):
    """A value that doesn't fit its key; the message says what was expected."""


def fail(message: str) -> NoReturn:
    raise Invalid(message)


def nonempty_text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        fail("expected a non-empty string")
    return value.strip()


def url(value: Any) -> str:
    text = nonempty_text(value).rstrip("/")
    if not text.startswith(("https://", "http://")):
        fail(f"expected an https:// URL, got {text!r}")
    return text


def endpoint(value: Any) -> str:
    host, _, port = nonempty_text(value).rpartition(":")
    if not host or not port.isdigit():
        fail(f"expected host:port, got {value!r}")
    return f"{host}:{port}"


def number(kind: type, low: float, high: float) -> Parser:
    what = "an integer" if kind is int else "a number"

    def parse(value: Any) -> Any:
        if isinstance(value, bool):
            fail(f"expected {what}")
        try:
            number = kind(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError):
            fail(f"expected {what}, got {value!r}")
        if not low <= number <= high:
            fail(f"must be between {plain(low)} and {plain(high)}, got {number}")
        return number

    return parse


def plain(number: float) -> str:
    """1, 0.01, 4194304: never 4.1943e+06."""
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


def choice(options: tuple[str, ...], upper: bool = False) -> Parser:
    def parse(value: Any) -> str:
        text = nonempty_text(value)
        text = text.upper() if upper else text.lower()
        if text not in options:
            fail(f"expected one of {', '.join(options)}, got {value!r}")
        return text

    return parse


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = nonempty_text(value).lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off"):
        return False
    fail(f"expected true or false, got {value!r}")
    return False  # unreachable: fail raises


def assignment_rule(value: Any) -> str:
    """``Sforce-Auto-Assign``'s value: on/true → TRUE, off/false → FALSE, or an
    AssignmentRule ID (01Q…, 15 or 18 characters)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    text = nonempty_text(value)
    if text.lower() in ("on", "true", "yes"):
        return "TRUE"
    if text.lower() in ("off", "false", "no"):
        return "FALSE"
    if text.startswith("01Q") and len(text) in (15, 18) and text.isalnum() and text.isascii():
        return text
    fail(f"expected on, off or an AssignmentRule ID (01Q…), got {value!r}")
    return ""  # unreachable: fail raises


def path_value(value: Any) -> Path:
    return Path(nonempty_text(value)).expanduser()


def clock_time(value: Any) -> dt.time:
    text = nonempty_text(value)
    try:
        parsed = dt.time.fromisoformat(text)
    except ValueError:
        fail(f"expected a time of day like 09:00, got {value!r}")
    return parsed.replace(second=0, microsecond=0)


def zone(value: Any) -> str:
    text = nonempty_text(value)
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        fail(f"unknown time zone {text!r} (use an IANA name like Europe/Paris)")
    return text


def days_list(value: Any) -> tuple[int, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items:
        fail("expected a non-empty list of whole days, like [7, 1]")
    days = tuple(number(int, 0, 365)(v) for v in items)
    if len(set(days)) != len(days):
        fail("a threshold is listed twice")
    return tuple(sorted(days, reverse=True))


def topic_list(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items:
        fail("expected a non-empty list of topic names")
    topics = tuple(nonempty_text(t) for t in items)
    for topic in topics:
        if not topic.startswith(("/event/", "/data/")):
            fail(f"topic {topic!r} must start with /event/ or /data/")
    if len(set(topics)) != len(topics):
        fail("a topic is listed twice")
    return topics


def user_ids(value: Any) -> tuple[str, ...]:
    """A list of Salesforce User IDs (``alerts.owner_allowlist``)."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        fail('expected a list of Salesforce User IDs, like ["005000000000001AAA"]')
    ids = tuple(nonempty_text(v) for v in items)
    for one in ids:
        if len(one) not in (15, 18) or not one.startswith("005") or not one.isalnum():
            fail(f"{one!r} is not a User ID (15 or 18 characters starting 005)")
    return ids
