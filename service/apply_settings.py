"""The apply loop's settings, the refusals it isolates, and the small pure steps it takes
(kept apart from :mod:`service.apply_loop` so that module stays one purpose: dispatching)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from handlers.parse import is_own_origin
from subscriber.errors import RetryLater
from subscriber.events import InboxEntry
from subscriber.inbox_api import ApplyInbox

PAUSED_KEY = "apply:paused"  # inbox meta: "1" while REQUEST_LIMIT_EXCEEDED pauses applying
# Refusals caused by some value in the request (not by the org): the batch is halved until
# the event behind it is alone. Any other refusal (an org-level fault such as
# INSUFFICIENT_ACCESS, or an unknown/empty code) holds applying back, like a 5xx.
VALUE_DEPENDENT_CODES = frozenset({
    "MALFORMED_QUERY", "INVALID_QUERY_FILTER_OPERATOR", "JSON_PARSER_ERROR",
    "STRING_TOO_LONG", "LIMIT_EXCEEDED", "QUERY_TOO_COMPLICATED", "INVALID_ID_FIELD",
    "MALFORMED_ID"})


@dataclass(frozen=True)
class ApplySettings:
    batch_size: int = 200
    client_name: str = "lifecycle-sync"
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0
    limit_pause_s: float = 300.0
    max_attempts: int = 8
    stop_check_s: float = 0.5  # how soon an idle loop notices stop (new entries wake it at once)


class KeysBusy(RetryLater):
    """The retry-parked job's Workspaces stayed busy in apply cycles: routine, not a fault
    (the job tries again at its next run); Sentry's Cron check-in stays ``ok``."""

    routine = True




def settle_own_changes(inbox: ApplyInbox, pending: list[InboxEntry], client_name: str
                       ) -> list[InboxEntry]:
    """Lead change events our own writes caused need no rules and no calls: mark them
    applied at once, so they never hold an exclusive cycle. Returns the others."""
    own = [e.id for e in pending if e.change is not None and e.change.entity_name == "Lead"
           and e.change.change_type in ("CREATE", "UPDATE")
           and is_own_origin(e.change.change_origin, client_name)]
    if not own:
        return pending
    inbox.mark_done(own, {})
    done = set(own)
    return [e for e in pending if e.id not in done]


def backoff_delay_s(settings: ApplySettings, attempt: int) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(max, initial * 2**(attempt-1))]."""
    return random.uniform(0, min(settings.backoff_max_s,
                                 settings.backoff_initial_s * 2 ** (attempt - 1)))
