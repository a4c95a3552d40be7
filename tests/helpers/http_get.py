"""A plain GET against the daemon's loopback health/metrics server, for tests."""

from __future__ import annotations

import urllib.error
import urllib.request


def http_get(port: int, path: str) -> tuple[int, str]:
    """``(status, body)`` of ``GET http://127.0.0.1:port/path``; ``(0, "")`` while nothing
    answers (the server not up yet), so callers can wait on it."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""
