"""Failures of whole Salesforce calls, named by what the apply loop must do about them.

``GatewayError``
  ├─ ``TransientError``   5xx, timeouts, connection errors after in-call retries: retry the
  │                       cycle later with jittered backoff (nothing was marked applied)
  ├─ ``RequestLimited``   403 REQUEST_LIMIT_EXCEEDED: pause applying (warn once) and probe later
  └─ ``CallRejected``     4xx that no retry fixes (a bug or a changed org): retry later, loudly
Authentication failures come from the shared session provider (``subscriber.errors``).
"""

from __future__ import annotations


class GatewayError(Exception):
    """A Salesforce call failed as a whole; ``error_class`` is short and stable."""

    error_class = "salesforce call failed"


class TransientError(GatewayError):
    error_class = "salesforce unavailable"


class RequestLimited(GatewayError):
    error_class = "REQUEST_LIMIT_EXCEEDED"


class CallRejected(GatewayError):
    error_class = "salesforce call rejected"

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code
        if code:
            self.error_class = code
