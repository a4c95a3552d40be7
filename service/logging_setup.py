"""Single-line logs to stderr, scrubbed of secrets before they are written.

journald (and any collector) keeps one record per line, so a traceback or a multi-line message
is folded onto one line. Scrubbing happens in the formatter, the last point every record
passes through, so a token that slips into a message from any library is still masked:
known secret values are replaced outright, and bearer tokens, Salesforce session IDs, PEM
blocks and ``password=``-style pairs are masked by pattern. Email addresses are masked at INFO
and above (they are personal data; DEBUG is for a developer's own machine).
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Iterable

REDACTED = "[redacted]"
_WHOLE = (
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)",
               re.S),
    re.compile(r"\b00D[0-9A-Za-z]{12,15}![0-9A-Za-z._\-]{20,}"),  # Salesforce session id
    re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),  # AWS access key id
)
# These keep group 1 (the key) and mask the value after it.
_KEYED = (
    re.compile(r"(?i)\b(bearer\s+)[0-9A-Za-z._\-~+/=!]{8,}"),
    re.compile(
        r"(?i)\b((?:access_?token|client_secret|password|private_key|assertion)"
        r"[\"']?\s*[=:]\s*[\"']?)[^\s,&\"'}]+"
    ),
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# Patterns for what request URLs and library messages carry (used at INFO+ and by Sentry).
_ENCODED_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+%40[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_SOQL = re.compile(r"(?is)\bselect\b.+?\bfrom\b")
_LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'|%27.*?%27")
_QUERY_STRING = re.compile(r"(https?://[^\s?#'\"]+)\?[^\s#'\"]*")
_MORE_KEYED = re.compile(
    r"(?i)\b((?:api[_-]?key|secret|refresh_token|token|session_?id|sid|signature)"
    r"[\"']?\s*[=:]\s*[\"']?)[^\s,&\"'}]+")


def scrub(text: str, secrets: Iterable[str] = (), *, mask_email: bool = True) -> str:
    """Mask secret values and secret-shaped substrings in ``text``."""
    for secret in secrets:
        if len(secret) >= 6:
            text = text.replace(secret, REDACTED)
    for whole in _WHOLE:
        text = whole.sub(REDACTED, text)
    for keyed in _KEYED:
        text = keyed.sub(lambda m: m.group(1) + REDACTED, text)
    if mask_email:
        text = _EMAIL.sub("[email]", text)
    return text


def scrub_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with secrets, tokens, emails (plain or URL-encoded), the query strings of URLs
    and the string literals of SOQL masked: what may leave the process (logs at INFO+, Sentry)."""
    text = _QUERY_STRING.sub(lambda m: m.group(1) + "?[query]", text)
    if _SOQL.search(text):
        text = _LITERAL.sub("'?'", text)
    text = _ENCODED_EMAIL.sub("[email]", text)
    text = _MORE_KEYED.sub(lambda m: m.group(1) + REDACTED, text)
    return scrub(text, secrets, mask_email=True)


def scrub_for_level(text: str, secrets: Iterable[str], levelno: int) -> str:
    """The one scrubbing every log formatter applies: full (:func:`scrub_text`) at INFO and
    above; at DEBUG secrets and keys still, but emails kept for a developer's own machine."""
    if levelno >= logging.INFO:
        return scrub_text(text, secrets)
    return scrub(text, secrets, mask_email=False)


class ScrubbingFormatter(logging.Formatter):
    """``2024-05-01T12:00:00.123Z INFO subscriber.stream: message key=value`` on one line."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if s)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        return f"{stamp}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        text = f"{self.formatTime(record)} {record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_info:
            text += " | " + self.formatException(record.exc_info)
        if record.stack_info:
            text += " | " + self.formatStack(record.stack_info)
        text = scrub_for_level(text, self._secrets, record.levelno)
        return text.replace("\r", "").replace("\n", " | ")


def configure_logging(level: str, secrets: Iterable[str] = (), fmt: str = "text") -> None:
    """Send every logger through a scrubbing formatter; replaces prior handlers. ``text``:
    one line per record on stderr; ``json``: one JSON object per line on stdout."""
    handler = logging.StreamHandler(sys.stderr if fmt == "text" else sys.stdout)
    if fmt == "json":
        from service.log_json import JsonFormatter  # it imports this module's scrubber

        handler.setFormatter(JsonFormatter(secrets))
    else:
        handler.setFormatter(ScrubbingFormatter(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.getLogger("grpc").setLevel(max(logging.WARNING, root.level))
    logging.captureWarnings(True)
