"""One JSON object per log line on stdout, for journald and log shippers.

``--log-format json`` (the default when journald holds stdout: systemd sets
``JOURNAL_STREAM``) writes ``{"ts", "level", "logger", "thread", "msg"[, "exc"]}`` per line.
Every string goes through the same scrubber as text logs, plus the Sentry scrubber's patterns
at INFO and above (URL-encoded emails, SOQL literals, ``api_key=``-style pairs), so no token,
key or email reaches a collector even if some library logs one; the thread name (which any
library may set) always gets the full scrubbing.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable, Mapping

from service.logging_setup import scrub_for_level

LOG_FORMATS = ("auto", "json", "text")


def resolve_format(requested: str, env: Mapping[str, str] | None = None) -> str:
    """``auto``: json when stdout/stderr go to journald (``JOURNAL_STREAM`` set), else text."""
    env = os.environ if env is None else env
    if requested != "auto":
        return requested
    return "json" if env.get("JOURNAL_STREAM") else "text"


class JsonFormatter(logging.Formatter):
    """A record as one compact JSON object (newlines inside values stay escaped)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if s)

    def _clean(self, text: str, levelno: int) -> str:
        return scrub_for_level(text, self._secrets, levelno)

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        line: dict[str, object] = {
            "ts": f"{stamp}.{int(record.msecs):03d}Z", "level": record.levelname,
            "logger": record.name,
            # Thread names can be set by any library (and may carry what it works on).
            "thread": self._clean(str(record.threadName), logging.INFO),
            "msg": self._clean(record.getMessage(), record.levelno)}
        if record.exc_info:
            line["exc"] = self._clean(self.formatException(record.exc_info), record.levelno)
        return json.dumps(line, ensure_ascii=False)
