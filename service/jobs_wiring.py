"""Builds the scheduled jobs from the configuration (the daemon and ``jobs run`` share it).

Each job gets its own Salesforce client and gateway (clients are not shared between
threads; on the PostgreSQL inbox each is fenced by the lease before every request), the
shared session provider, the inbox and the run store; the job functions are bound here so
:mod:`scheduler` never reads settings or creates clients itself.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path
from typing import cast

from handlers.gateway import GatewaySettings, SalesforceGateway
from handlers.rule_settings import RuleSettings
from handlers.sf_client import ClientSettings, SalesforceClient, SessionSource
from scheduler import local_inbox
from scheduler.job_inbox import InboxPlace, PgJobInbox
from scheduler.retention import retention
from scheduler.retry_parked import Hold, no_hold, retry_parked
from scheduler.runner import Clock, JobFunc, JobRunner, utc_now
from scheduler.runs import RunLog, RunStore, jobs_path
from scheduler.sf_ops import JobsSalesforce
from scheduler.timing import triggers
from scheduler.trial_alerts import trial_alerts
from service.config import Config
from service.metrics import Metrics
from service.parked_count import ParkedErrorCounter
from service.sentry_setup import monitor_configs, monitored
from service.shadow_jobs import SHADOW_JOBS_FILE, Count, ShadowJobsSalesforce, shadowed
from subscriber.inbox import Inbox
from subscriber.inbox_api import InboxStore


def gateway_settings(config: Config) -> GatewaySettings:
    """The gateway and rule settings of ``[apply]`` (the apply loop and retry-parked share)."""
    a = config.apply
    return GatewaySettings(
        create_opportunity=a.create_opportunity, auto_assign=a.lead_auto_assign,
        rules=RuleSettings(trial_length_days=a.trial_length_days,
                           mrr_ceiling=Decimal(str(a.mrr_ceiling)),
                           new_trial_task=a.new_trial_task))


def client_settings(config: Config) -> ClientSettings:
    """REST/SOAP transport for the apply loop and the jobs: the CA gRPC trusts, and an
    explicit read timeout so a server that accepts and never answers cannot wedge them."""
    return ClientSettings(ca_file=config.pubsub.ca_file,
                          read_timeout_s=config.apply.read_timeout_s)


def salesforce(config: Config, sessions: SessionSource, inbox: InboxStore | None = None
               ) -> JobsSalesforce:
    return JobsSalesforce(client(config, sessions, inbox))


def client(config: Config, sessions: SessionSource, inbox: InboxStore | None
           ) -> SalesforceClient:
    """A job's Salesforce client; on the PostgreSQL inbox, fenced like the apply loop's: the
    lease's trust window is checked before every request (:func:`salesforce_guard`)."""
    return SalesforceClient(sessions, client_settings(config), salesforce_guard(inbox))


def salesforce_guard(inbox: InboxStore | None) -> Callable[[], None] | None:
    """The lease of a PostgreSQL inbox as a per-request guard; None on SQLite (one node)."""
    if inbox is None or isinstance(inbox, Inbox):
        return None
    from subscriber.inbox_pg import PgInbox
    from subscriber.pg_lease import Lease

    fence = cast(PgInbox, inbox).fence
    if not isinstance(fence, Lease):  # every daemon and command passes its lease
        raise TypeError(f"a PostgreSQL inbox without a lease cannot fence Salesforce: {inbox}")
    return fence.require_trusted


def job_functions(config: Config, sessions: SessionSource, inbox: InboxStore, runs: RunLog,
                  hold: Hold = no_hold, intended: Count = lambda op, obj: None
                  ) -> dict[str, JobFunc]:
    """Every job, bound; in shadow mode only trial-alerts, deciding and writing nothing
    (``intended`` counts its writes: :mod:`service.shadow_jobs`)."""
    s = config.scheduler
    if config.service.mode == "shadow":
        sf = ShadowJobsSalesforce(client(config, sessions, inbox), intended)
        return {"trial-alerts": shadowed(functools.partial(trial_alerts, sf=sf,
                                                           settings=s.alerts))}
    inbox_file = place_of(inbox)
    gateway = SalesforceGateway(client(config, sessions, inbox), gateway_settings(config))

    def emails(ids: Iterable[str]) -> dict[str, str]:
        return local_inbox.emails_by_event(inbox_file, ids)

    retry_sf = salesforce(config, sessions, inbox)
    retry: JobFunc = functools.partial(
        retry_parked, sf=retry_sf, gateway=gateway, settings=s.retry, emails=emails,
        client_name="lifecycle-sync", hold=hold)
    if config.sla.parked_errors_max:
        retry = _then_count(retry, ParkedErrorCounter(retry_sf, inbox))
    return {
        "retry-parked": retry,
        "trial-alerts": functools.partial(trial_alerts, sf=salesforce(config, sessions, inbox),
                                          settings=s.alerts),
        "retention": functools.partial(retention, sf=salesforce(config, sessions, inbox),
                                       settings=s.retention, inbox=inbox, runs=runs,
                                       place=inbox_file),
    }


def open_runs(state_dir: Path, inbox: InboxStore | None = None, shadow: bool = False
              ) -> RunLog:
    """The run records: ``STATE/jobs.db``, or beside a PostgreSQL inbox (fenced like it);
    shadow mode's apart, always local (a shadow run must not stand for a live one)."""
    if shadow:
        return RunStore(state_dir / SHADOW_JOBS_FILE)
    if inbox is None or isinstance(inbox, Inbox):
        return RunStore(jobs_path(state_dir))
    from scheduler.runs_pg import PgRunStore  # the optional "postgres" extra
    from subscriber.inbox_pg import PgInbox

    pg = cast(PgInbox, inbox)
    return PgRunStore(pg.pool, state_dir, pg.fence)


def place_of(inbox: InboxStore) -> InboxPlace:
    """Where the jobs read and rewrite inbox entries themselves (scheduler.job_inbox)."""
    if isinstance(inbox, Inbox):
        return inbox.path
    from subscriber.inbox_pg import PgInbox

    pg = cast(PgInbox, inbox)
    return PgJobInbox(pg.pool, pg.fence)


def job_runner(config: Config, sessions: SessionSource, inbox: InboxStore, runs: RunLog,
               hold: Hold = no_hold, clock: Clock = utc_now, crons: bool = False,
               metrics: Metrics | None = None) -> JobRunner:
    """``hold``: the daemon's ``ApplyLoop.holding`` (retries never race an apply cycle).
    ``crons``: each run sends Sentry Cron check-ins (a no-op while Sentry is off)."""
    jobs = job_functions(config, sessions, inbox, runs, hold,
                         metrics.intended if metrics is not None else lambda op, obj: None)
    if crons:
        configs = monitor_configs(config.scheduler)
        jobs = {name: monitored(name, job, configs[name]) for name, job in jobs.items()}
    if metrics is not None:
        jobs = {name: _counted(name, job, metrics) for name, job in jobs.items()}
    return JobRunner(jobs, triggers(config.scheduler), runs, clock)


def _then_count(job: JobFunc, counter: ParkedErrorCounter) -> JobFunc:
    """``job``, then the parked Error count the sync SLA reads (stored in the inbox's meta
    table; see :mod:`service.parked_count`), even when the job failed part-way."""

    def run(now: dt.datetime) -> str:
        try:
            return job(now)
        finally:
            counter.record()

    return run


def _counted(name: str, job: JobFunc, metrics: Metrics) -> JobFunc:
    """``job``, counted in the job runs and failures metrics."""

    def run(now: dt.datetime) -> str:
        try:
            result = job(now)
        except BaseException:
            metrics.job(name, ok=False)
            raise
        metrics.job(name, ok=True)
        return result

    return run
