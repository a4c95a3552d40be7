"""The parts one daemon run is made of, built from the config (:mod:`service.wiring` runs
them): sessions, metrics, the apply loop, the intake and its hooks, health, jobs and the
sync SLA monitor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from scheduler.registry import RealigningScheduler, build_scheduler
from scheduler.runs import RunLog
from service.apply_loop import ApplyLoop
from service.apply_wiring import apply_loop
from service.config import Config
from service.connections import intake_settings, session_provider, stale_after_s
from service.failover import Role
from service.health import Health
from service.inbox_backend import ReaderSource, readers_of
from service.jobs_wiring import job_runner, open_runs
from service.metrics import Metrics
from service.observed_hooks import ObservedHooks
from service.parked_count import stored_parked_errors
from service.publish_age import oldest_pending_publish_age_s
from service.sla import SlaMonitor
from subscriber.inbox import Inbox
from subscriber.inbox_api import InboxStore
from subscriber.intake import Intake


@dataclass
class DaemonParts:
    """What one daemon run builds from the config (see :func:`build_parts`)."""

    metrics: Metrics
    applier: ApplyLoop
    hooks: ObservedHooks
    health: Health
    intake: Intake
    runs: RunLog
    jobs: RealigningScheduler
    sla: SlaMonitor
    readers: ReaderSource  # where status and health read the inbox (SQLite file or pool)


def build_parts(config: Config, inbox: InboxStore, role: Role | None = None,
                observe: Callable[[Metrics], None] | None = None) -> DaemonParts:
    """Every part, wired: one session provider for all; the apply loop woken by the intake
    (fenced by ``role``'s lease on PostgreSQL); jobs holding the apply loop's keys; the SLA
    judged on the oldest pending event's publish time (SQLite; the health's pending age on
    PostgreSQL) and the parked count the retry-parked job stored (both local reads).
    ``observe``: told of the metrics (the role gauge)."""
    sessions = session_provider(config)
    readers = readers_of(inbox)
    metrics = Metrics(config.pubsub.topics, readers)
    if observe is not None:
        observe(metrics)
    applier = apply_loop(config, sessions, inbox, metrics, None if role is None else role.lease)
    hooks = ObservedHooks(config.pubsub.topics, metrics, stale_after_s=stale_after_s(config),
                          state_dir=config.service.state_dir, on_stored=applier.wake)
    applier.full_inbox = hooks.full_inbox  # the apply loop's pauses join the intake's
    health = Health(config.pubsub.topics, readers, applier, hooks.alive,
                    config.metrics.apply_stuck_s, shadow=config.service.mode == "shadow",
                    paused=hooks.full_inbox.problem)
    hooks.health = health
    shadow = config.service.mode == "shadow"
    runs = open_runs(config.service.state_dir, inbox, shadow=shadow)
    jobs = build_scheduler(job_runner(config, sessions, inbox, runs, hold=applier.holding,
                                      crons=config.sentry.crons, metrics=metrics),
                           runs, config.scheduler)
    sla = SlaMonitor(config.sla, _pending_age(config, inbox, health, shadow),
                     lambda: stored_parked_errors(inbox), inbox,
                     on_change=lambda breached: metrics.sla_breached.set(int(breached)))
    intake = Intake(intake_settings(config), sessions, inbox, hooks)
    return DaemonParts(metrics, applier, hooks, health, intake, runs, jobs, sla, readers)


def _pending_age(config: Config, inbox: InboxStore, health: Health,
                 shadow: bool) -> Callable[[], float | None]:
    """The SLA's age: from publish time in the SQLite inbox; on PostgreSQL the health's
    pending age (from landing), which the backend-neutral readers offer."""
    if isinstance(inbox, Inbox):
        path = inbox.path
        return lambda: oldest_pending_publish_age_s(path, config.pubsub.topics, shadow)
    return health.oldest_pending_s
