"""The apply loop as the daemon wires it: one gateway per worker, shadow mode's wrappers, and
the hooks that report to Sentry (with the event's tags) and count metrics.

Kept apart from :mod:`service.wiring` so the hooks can be built, and tested, on their own:
the tests run a real :class:`~service.apply_loop.ApplyLoop` with :func:`apply_hooks` against
the real sentry-sdk.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from handlers.cycle import CycleResult
from handlers.gateway import ConvertedStatus, SalesforceGateway
from handlers.gateway_api import Gateway
from handlers.sf_client import SalesforceClient
from scheduler.erasure import erasure_key
from service.apply_loop import ApplyLoop
from service.apply_reports import OnFirst, Tags
from service.apply_settings import ApplySettings
from service.config import Config
from service.jobs_wiring import client_settings, gateway_settings
from service.metrics import Metrics
from service.sentry_setup import report as report_to_sentry
from service.shadow import ShadowGateway, ShadowInbox
from subscriber import auth
from subscriber.events import InboxEntry
from subscriber.inbox_api import ApplyInbox, InboxStore

if TYPE_CHECKING:  # psycopg is the optional "postgres" extra
    from subscriber.pg_lease import Lease

log = logging.getLogger("lifecycle_sync")


@dataclass(frozen=True)
class ApplyHooks:
    """What the loop tells the rest of the daemon (see :class:`ApplyLoop`'s arguments)."""

    on_report: OnFirst
    on_settled: Callable[[Sequence[InboxEntry], CycleResult], None] | None
    on_poison: Callable[[InboxEntry], None] | None


def apply_hooks(metrics: Metrics | None, shadow: bool) -> ApplyHooks:
    """Sentry reports tagged with topic, event type, error code and workspace (never an
    email); metrics for live cycles only: shadow cycles apply nothing, so their writes are
    counted as intended (ShadowGateway), never as applied, parked or failed events."""

    def to_sentry(error_class: str, message: str, tags: Tags) -> None:
        report_to_sentry("apply", error_class, message, tags)

    if metrics is None or shadow:
        return ApplyHooks(to_sentry, None, None)
    return ApplyHooks(to_sentry, _observe_cycles(metrics), _count_poison(metrics))


def apply_loop(config: Config, sessions: auth.SessionProvider, inbox: InboxStore,
               metrics: Metrics | None = None, lease: Lease | None = None) -> ApplyLoop:
    """The apply loop and one gateway per worker (several cycles in flight, so Salesforce's
    latency overlaps: README, burst); REST trusts the same CA file as gRPC. ``lease`` (the
    PostgreSQL inbox's): no Salesforce request starts once it is not trusted."""
    a = config.apply
    shadow = config.service.mode == "shadow"
    settings = client_settings(config)
    gateway = gateway_settings(config)
    guard = None if lease is None else lease.require_trusted  # checked before each request
    clients = [SalesforceClient(sessions, settings, guard)
               for _ in range(1 if shadow else a.workers)]
    if metrics is not None:
        for client in clients:
            client.on_response(lambda r: metrics.limit_info(r.headers.get("Sforce-Limit-Info")))
    status = ConvertedStatus()  # read once for all workers
    gateways: list[Gateway] = [SalesforceGateway(c, gateway, status) for c in clients]
    applied: ApplyInbox = inbox
    if shadow:  # decide everything, write nothing; entries stay pending for live
        count = metrics.intended if metrics is not None else (lambda op, obj: None)
        key = erasure_key(config.service.state_dir)  # log keys: HMAC, not a plain hash
        gateways = [ShadowGateway(g, count, key) for g in gateways]
        applied = ShadowInbox(inbox)
    hooks = apply_hooks(metrics, shadow)
    return ApplyLoop(applied, gateways,
                     ApplySettings(batch_size=a.batch_size, limit_pause_s=a.limit_pause_s,
                                   backoff_initial_s=a.retry_initial_s,
                                   backoff_max_s=a.retry_max_s, max_attempts=a.max_attempts),
                     on_report=hooks.on_report, on_settled=hooks.on_settled,
                     on_poison=hooks.on_poison)


def _observe_cycles(metrics: Metrics) -> Callable[[Sequence[InboxEntry], CycleResult], None]:
    def observe(entries: Sequence[InboxEntry], result: CycleResult) -> None:
        try:
            metrics.settled(entries, result.applied, result.parked)
        except Exception:  # metrics must never stop applying
            log.exception("recording apply metrics failed")

    return observe


def _count_poison(metrics: Metrics) -> Callable[[InboxEntry], None]:
    def count(entry: InboxEntry) -> None:
        try:
            metrics.poisoned(entry)
        except Exception:  # metrics must never stop applying
            log.exception("recording the failed-events metric failed")

    return count
