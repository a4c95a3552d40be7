"""The parts one daemon run is made of, built from the config (:mod:`service.wiring` runs
them), in two steps so the intake can start first:

* :func:`build_intake` — sessions, metrics, the intake and its hooks: all the first commit
  needs;
* :func:`build_rest` — the apply loop, health, jobs and the sync SLA monitor, built while
  the intake is already logging in and landing events. Their modules (simple-salesforce with
  zeep and lxml, APScheduler, the handlers) are imported here, on first use, not at start-up:
  the benchmarks' ``startup_s`` (README "Performance") is spawn → first commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from service.catch_up import CatchUp
from service.config import Config
from service.connections import intake_settings, session_provider, stale_after_s
from service.gc_pause import gc_paused
from service.inbox_backend import ReaderSource, readers_of
from service.metrics import Metrics
from service.observed_hooks import ObservedHooks
from subscriber.auth import SessionProvider
from subscriber.inbox_api import InboxStore
from subscriber.intake import Intake

if TYPE_CHECKING:
    from scheduler.registry import RealigningScheduler
    from scheduler.runs import RunLog
    from service.apply_loop import ApplyLoop
    from service.failover import Role
    from service.health import Health
    from service.sla import SlaMonitor


class Relay:
    """Calls the target set later (the apply loop's wake), nothing until then: the intake
    may commit before the apply loop exists, which then starts by reading what is there."""

    def __init__(self) -> None:
        self.target: Callable[[], None] | None = None

    def __call__(self) -> None:
        target = self.target
        if target is not None:
            target()


@dataclass
class IntakeParts:
    """What the intake needs (see :func:`build_intake`)."""

    sessions: SessionProvider
    readers: ReaderSource  # where status and health read the inbox (SQLite file or pool)
    metrics: Metrics
    hooks: ObservedHooks
    intake: Intake
    wake_apply: Relay


@dataclass
class DaemonParts:
    """What one daemon run builds from the config (see :func:`build_rest`)."""

    metrics: Metrics
    applier: ApplyLoop
    hooks: ObservedHooks
    health: Health
    intake: Intake
    runs: RunLog
    jobs: RealigningScheduler
    sla: SlaMonitor
    readers: ReaderSource


def build_intake(config: Config, inbox: InboxStore,
                 observe: Callable[[Metrics], None] | None = None) -> IntakeParts:
    """One session provider for all (the apply loop and jobs get it too); the intake's hooks
    wake the apply loop once :func:`build_rest` has built it. ``observe``: told of the
    metrics (the role gauge)."""
    sessions = session_provider(config)
    readers = readers_of(inbox)
    metrics = Metrics(config.pubsub.topics, readers)
    if observe is not None:
        observe(metrics)
    wake = Relay()
    hooks = ObservedHooks(config.pubsub.topics, metrics, CatchUp(config.pubsub.batch_size),
                          stale_after_s=stale_after_s(config),
                          state_dir=config.service.state_dir, on_stored=wake)
    intake = Intake(intake_settings(config), sessions, inbox, hooks)
    return IntakeParts(sessions, readers, metrics, hooks, intake, wake)


def build_rest(config: Config, inbox: InboxStore, first: IntakeParts,
               role: Role | None = None) -> DaemonParts:
    """The apply loop woken by the intake (fenced by ``role``'s lease on PostgreSQL); jobs
    holding the apply loop's keys; the SLA judged on the oldest pending event's publish time
    (SQLite; the health's pending age on PostgreSQL) and the parked count the retry-parked
    job stored (both local reads)."""
    with gc_paused():  # imports, as in service.cli
        from scheduler.registry import build_scheduler
        from service.apply_wiring import apply_loop
        from service.health import Health
        from service.jobs_wiring import job_runner, open_runs
        from service.parked_count import stored_parked_errors
        from service.sla import SlaMonitor
    metrics, hooks = first.metrics, first.hooks
    applier = apply_loop(config, first.sessions, inbox, metrics,
                         None if role is None else role.lease)
    first.wake_apply.target = applier.wake
    applier.full_inbox = hooks.full_inbox  # the apply loop's pauses join the intake's
    shadow = config.service.mode == "shadow"
    if hooks.catch_up is not None:
        hooks.catch_up.defer = applier.defer
    health = Health(config.pubsub.topics, first.readers, applier, hooks.alive,
                    config.metrics.apply_stuck_s, shadow=shadow, paused=hooks.full_inbox.problem)
    hooks.attach_health(health)
    runs = open_runs(config.service.state_dir, inbox, shadow=shadow)
    jobs = build_scheduler(job_runner(config, first.sessions, inbox, runs, hold=applier.holding,
                                      crons=config.sentry.crons, metrics=metrics),
                           runs, config.scheduler)
    sla = SlaMonitor(config.sla, _pending_age(config, inbox, health, shadow),
                     lambda: stored_parked_errors(inbox), inbox,
                     on_change=lambda breached: metrics.sla_breached.set(int(breached)))
    return DaemonParts(metrics, applier, hooks, health, first.intake, runs, jobs, sla,
                       first.readers)


def _pending_age(config: Config, inbox: InboxStore, health: Health,
                 shadow: bool) -> Callable[[], float | None]:
    """The SLA's age: from publish time in the SQLite inbox; on PostgreSQL the health's
    pending age (from landing), which the backend-neutral readers offer."""
    from service.publish_age import oldest_pending_publish_age_s
    from subscriber.inbox import Inbox

    if isinstance(inbox, Inbox):
        path = inbox.path
        return lambda: oldest_pending_publish_age_s(path, config.pubsub.topics, shadow)
    return health.oldest_pending_s
