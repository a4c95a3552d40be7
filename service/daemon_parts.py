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
from service.jobs_wiring import job_runner, open_runs, salesforce
from service.metrics import Metrics
from service.observed_hooks import ObservedHooks
from service.sla import PARKED_ERRORS_SOQL, SlaMonitor
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
    judged on the health's pending age. ``observe``: told of the metrics (the role gauge)."""
    sessions = session_provider(config)
    readers = readers_of(inbox)
    metrics = Metrics(config.pubsub.topics, readers)
    if observe is not None:
        observe(metrics)
    applier = apply_loop(config, sessions, inbox, metrics, None if role is None else role.lease)
    hooks = ObservedHooks(config.pubsub.topics, metrics, stale_after_s=stale_after_s(config),
                          state_dir=config.service.state_dir, on_stored=applier.wake)
    health = Health(config.pubsub.topics, readers, applier, hooks.alive,
                    config.metrics.apply_stuck_s, shadow=config.service.mode == "shadow")
    hooks.health = health
    runs = open_runs(config.service.state_dir, inbox)
    jobs = build_scheduler(job_runner(config, sessions, inbox, runs, hold=applier.holding,
                                      crons=config.sentry.crons, metrics=metrics),
                           runs, config.scheduler)
    sf = salesforce(config, sessions)
    sla = SlaMonitor(config.sla, health.oldest_pending_s,
                     lambda: sf.count(PARKED_ERRORS_SOQL), inbox,
                     on_change=lambda breached: metrics.sla_breached.set(int(breached)))
    intake = Intake(intake_settings(config), sessions, inbox, hooks)
    return DaemonParts(metrics, applier, hooks, health, intake, runs, jobs, sla, readers)
