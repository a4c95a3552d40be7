"""The parts one daemon run is made of, built from the config (:mod:`service.wiring` runs
them): sessions, metrics, the apply loop, the intake and its hooks, health, jobs and the
sync SLA monitor."""

from __future__ import annotations

from dataclasses import dataclass

from scheduler.registry import RealigningScheduler, build_scheduler
from scheduler.runs import RunStore
from service.apply_loop import ApplyLoop
from service.apply_wiring import apply_loop
from service.config import Config
from service.connections import intake_settings, session_provider, stale_after_s
from service.health import Health
from service.jobs_wiring import job_runner, open_runs
from service.metrics import Metrics
from service.observed_hooks import ObservedHooks
from service.parked_count import stored_parked_errors
from service.publish_age import oldest_pending_publish_age_s
from service.sla import SlaMonitor
from subscriber.inbox import Inbox
from subscriber.intake import Intake


@dataclass
class DaemonParts:
    """What one daemon run builds from the config (see :func:`build_parts`)."""

    metrics: Metrics
    applier: ApplyLoop
    hooks: ObservedHooks
    health: Health
    intake: Intake
    runs: RunStore
    jobs: RealigningScheduler
    sla: SlaMonitor


def build_parts(config: Config, inbox: Inbox) -> DaemonParts:
    """Every part, wired: one session provider for all; the apply loop woken by the intake;
    jobs holding the apply loop's keys; the SLA judged on the oldest pending event's publish
    time and the parked count the retry-parked job stored (both local reads)."""
    sessions = session_provider(config)
    metrics = Metrics(config.pubsub.topics, inbox.path)
    applier = apply_loop(config, sessions, inbox, metrics)
    hooks = ObservedHooks(config.pubsub.topics, metrics, stale_after_s=stale_after_s(config),
                          state_dir=config.service.state_dir, on_stored=applier.wake)
    health = Health(config.pubsub.topics, inbox.path, applier, hooks.alive,
                    config.metrics.apply_stuck_s, shadow=config.service.mode == "shadow")
    hooks.health = health
    runs = open_runs(config.service.state_dir, shadow=config.service.mode == "shadow")
    jobs = build_scheduler(job_runner(config, sessions, inbox, runs, hold=applier.holding,
                                      crons=config.sentry.crons, metrics=metrics),
                           runs, config.scheduler)
    shadow = config.service.mode == "shadow"
    sla = SlaMonitor(config.sla, lambda: oldest_pending_publish_age_s(
                         inbox.path, config.pubsub.topics, shadow),
                     lambda: stored_parked_errors(inbox), inbox,
                     on_change=lambda breached: metrics.sla_breached.set(int(breached)))
    intake = Intake(intake_settings(config), sessions, inbox, hooks)
    return DaemonParts(metrics, applier, hooks, health, intake, runs, jobs, sla)
