"""What went wrong, named by what the caller must do about it.

::

    SubscriberError              anything raised by this package
    ├── Fatal                    stop the daemon and tell a human (bad credentials, unknown or
    │                            forbidden topic, rejected replay ID under the "fail" policy)
    ├── RetryLater               transient: resubscribe from the checkpoint after a backoff
    │   └── Reauthenticate       the session was rejected: refresh it, then resubscribe
    ├── ReplayRejected           the stored replay ID was refused; the on_invalid_replay
    │                            policy decides (internal to the stream, never escapes run())
    └── InboxFailed              the inbox could not be read or written (I/O error, damage):
        │                        stop the intake; the service manager restarts the process
        └── InboxFull            the disk refused the write (full, over quota, file size
                                 limit): pause intake, probe with backoff, resume; never exit

:func:`classify_rpc_error` is the only place that looks at a :class:`grpc.RpcError`; every
other module sees these classes. Messages carry status names, ``error-code`` and ``rpc-id``,
never tokens or payloads.
"""

from __future__ import annotations

import grpc

ERROR_PREFIX = "sfdc.platform.eventbus.grpc."

# Suffixes of the ``error-code`` trailer, grouped by what to do.
_AUTH_CODES = ("service.auth.error", "service.auth.refresh.invalid")
_REPLAY_CODES = ("replayid.corrupted", "replayid.validation.failed")
_FATAL_CODES = (
    "topic.not.found", "subscription.topic.cannot.subscribe", "subscription.fetch.topic.mismatch",
    "subscription.fetch.requested.events.invalid", "service.tenant.license",
    "service.auth.headers.invalid",
)
_FATAL_STATUSES = frozenset({
    grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.UNIMPLEMENTED,
    grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.OUT_OF_RANGE,
})


class SubscriberError(Exception):
    """Root of every error this package raises."""

    def __init__(self, message: str, *, error_code: str = "", rpc_id: str = "") -> None:
        super().__init__(message)
        self.error_code = error_code
        self.rpc_id = rpc_id


class Fatal(SubscriberError):
    """Retrying cannot help: configuration, credentials, permissions or a policy said stop."""


class RetryLater(SubscriberError):
    """Transient: back off, then resubscribe from the checkpoint."""


class Reauthenticate(RetryLater):
    """The server rejected the session; refresh it once, then resubscribe."""


class ReplayRejected(SubscriberError):
    """The server refused the replay ID we resumed from (corrupted or past retention)."""


class InboxFailed(SubscriberError):
    """The inbox could not be written (or read): an I/O error, a damaged file.

    Never retried in place: refetching the same batch every backoff would burn the daily
    delivery allocation while nothing lands. The transaction was rolled back, so nothing was
    lost and the checkpoint did not move; the intake stops and the process exits 1, and the
    service manager's restart and start-limit policy decides what happens next.
    """


class InboxFull(InboxFailed):
    """The disk refused an inbox write: no space (SQLITE_FULL), over quota or past the file
    size limit (SQLITE_IOERR_WRITE). Rolled back like any failed write, so nothing was lost
    and the checkpoint did not move.

    Restarting cannot make room, and exiting 1 would crash-loop the unit into ``failed`` under
    ``Restart=on-failure`` while an operator frees space. So the intake pauses instead (ends
    its streams, keeps the batch in hand and retries storing it with backoff: the retry is the
    probe, and nothing is fetched twice) and the apply loop holds back its cycles (their
    Salesforce writes repeat as no-ops); both resume by themselves once a write goes through.
    See :mod:`subscriber.inbox_full`."""


def classify_rpc_error(exc: grpc.RpcError, what: str) -> SubscriberError:
    """Translate a failed gRPC call into the error class that says what to do next.

    ``what`` names the call for the message (e.g. ``"Subscribe /data/LeadChangeEvent"``).
    Unknown statuses are treated as transient: retrying forever with backoff is safer for a
    daemon that must not lose events than exiting on a status nobody has seen yet.
    """
    status = _status(exc)
    trailers = _trailers(exc)
    error_code = trailers.get("error-code", "")
    rpc_id = trailers.get("rpc-id", "")
    details = _details(exc)
    message = f"{what} failed: {status.name} {error_code or '(no error-code)'}: {details}"
    kind = _kind(status, error_code)
    return kind(message, error_code=error_code, rpc_id=rpc_id)


def _kind(status: grpc.StatusCode, error_code: str) -> type[SubscriberError]:
    if status is grpc.StatusCode.UNAUTHENTICATED or error_code.endswith(_AUTH_CODES):
        return Reauthenticate
    if error_code.endswith(_REPLAY_CODES):
        return ReplayRejected
    if error_code.endswith(_FATAL_CODES) or status in _FATAL_STATUSES:
        return Fatal
    return RetryLater


def _status(exc: grpc.RpcError) -> grpc.StatusCode:
    code = getattr(exc, "code", None)
    value = code() if callable(code) else None
    return value if isinstance(value, grpc.StatusCode) else grpc.StatusCode.UNKNOWN


def _details(exc: grpc.RpcError) -> str:
    details = getattr(exc, "details", None)
    value = details() if callable(details) else None
    return str(value) if value else "(no details)"


def _trailers(exc: grpc.RpcError) -> dict[str, str]:
    trailing = getattr(exc, "trailing_metadata", None)
    pairs = trailing() if callable(trailing) else None
    out: dict[str, str] = {}
    for key, value in pairs or ():
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        out[str(key).lower()] = str(value)
    return out


class LeaseLost(InboxFailed):
    """This process no longer holds the deployment's lease at its epoch (PostgreSQL backend).

    Raised inside the write transaction that found out, which is rolled back: a standby has
    (or may have) taken over, so nothing more may be written. The daemon exits 1 and its
    service manager restarts it, as a standby."""
