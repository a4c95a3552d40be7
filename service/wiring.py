"""Builds the daemon from a :class:`~service.config.Config` and runs it until told to stop.

The only place that knows both the configuration and the subscriber's classes: everything is
built here and passed down, so nothing else reads settings or creates clients on its own.
Two threads do the work: the intake fills the inbox; the apply loop empties it into Salesforce,
woken by the intake after each commit. Scheduled jobs (:mod:`scheduler`) run on APScheduler's
own threads. Both share one session provider (one login, refreshed
single-flight for gRPC and REST alike).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from handlers.cycle import CycleResult
from handlers.gateway import ConvertedStatus, GatewaySettings, SalesforceGateway
from handlers.gateway_api import Gateway
from handlers.sf_client import ClientSettings, SalesforceClient
from scheduler.registry import build_scheduler
from service.apply_loop import ApplyLoop, ApplySettings
from service.config import AuthConfig, Config, Secret
from service.failover import FencedGateway, Role
from service.health import Health, HealthServer, status_line
from service.hints import HintedLogin, login_failure
from service.inbox_backend import (
    ReaderSource,
    is_postgres,
    missing_extra,
    readers_of,
    retention_s,
)
from service.jobs_wiring import job_runner, open_runs
from service.lifecycle import AlreadyRunning, Notifier, install_stop_handlers, state_lock
from service.local_checks import startup_problems
from service.logging_setup import configure_logging
from service.metrics import Metrics
from service.observed_hooks import ObservedHooks
from service.sentry_setup import SentrySettings, from_env, init_sentry
from service.sentry_setup import flush as flush_sentry
from service.sentry_setup import report as report_to_sentry
from service.shadow import ShadowGateway, ShadowInbox
from service.state_guard import open_inbox
from service.status_cmd import OPS_KEY
from subscriber import auth, oauth
from subscriber.errors import Fatal, InboxFailed, SubscriberError
from subscriber.events import InboxEntry
from subscriber.inbox_api import ApplyInbox, InboxStore
from subscriber.intake import Intake
from subscriber.settings import IntakeSettings, ReplayPolicy, StartFrom

if TYPE_CHECKING:  # psycopg is the optional "postgres" extra
    from subscriber.pg_lease import Lease

log = logging.getLogger("lifecycle_sync")

EX_TEMPFAIL = 75
EX_CONFIG = 78  # also: a Fatal error at run time, which a restart cannot fix
PRUNE_EVERY_S = 3600.0


def token_source(cfg: AuthConfig, ca_file: Path | None) -> auth.TokenSource:
    """The OAuth flow (or static token) ``auth.mode`` names; the config checked its keys."""
    if cfg.mode == "static_token":
        return auth.StaticToken(auth.Session(
            access_token=_reveal(cfg.access_token), instance_url=cfg.instance_url,
            org_id=cfg.tenant_id))
    endpoint = oauth.OAuthEndpoint(cfg.login_url, ca_file=ca_file, timeout_s=cfg.timeout_s)
    if cfg.mode == "jwt":
        return oauth.JwtBearer(endpoint, cfg.client_id, cfg.username, _secret(cfg.private_key))
    if cfg.mode == "client_credentials":
        return oauth.ClientCredentials(endpoint, cfg.client_id, _secret(cfg.client_secret))
    return oauth.UsernamePassword(endpoint, cfg.client_id, _secret(cfg.client_secret),
                                  cfg.username, _secret(cfg.password))


def intake_settings(config: Config) -> IntakeSettings:
    p = config.pubsub
    return IntakeSettings(
        endpoint=p.endpoint, topics=p.topics, ca_file=p.ca_file, keepalive_s=p.keepalive_s,
        watchdog_margin_s=p.watchdog_margin_s, batch_size=p.batch_size,
        backoff_initial_s=p.backoff_initial_s, backoff_max_s=p.backoff_max_s,
        on_invalid_replay=ReplayPolicy(p.on_invalid_replay), start_from=StartFrom(p.start_from),
        ping_interval_s=p.ping_interval_s, ping_timeout_s=p.ping_timeout_s,
        max_receive_bytes=p.max_receive_bytes,
    )


def _secret(value: Secret | None) -> auth.Secret:
    return auth.Secret(_reveal(value))


def _reveal(value: Secret | None) -> str:
    if value is None:  # load_config guarantees the secrets each mode needs
        raise Fatal("a required secret is missing")
    return value.reveal()


def run_daemon(config: Config, *, reset_inbox: bool = False, log_format: str = "text") -> int:
    """Hold the state lock and run the intake until SIGTERM/SIGINT; returns the exit code.

    ``reset_inbox``: accept a missing or replaced inbox (see :mod:`service.state_guard`).
    ``log_format``: ``text`` (stderr) or ``json`` (stdout, one object per line)."""
    stop = threading.Event()
    install_stop_handlers(stop)  # first: a SIGTERM during start-up is still a clean stop
    configure_logging(config.service.log_level, config.secrets(), log_format)
    sentry = from_env(config.sentry, os.environ)
    sentry_on = init_sentry(sentry, config.secrets())
    try:
        return _run_checked(config, stop, reset_inbox, sentry)
    finally:
        if sentry_on:
            flush_sentry()


def _run_checked(config: Config, stop: threading.Event, reset_inbox: bool,
                 sentry: SentrySettings) -> int:
    problems = startup_problems(config)
    for problem in problems:  # an operator's mistake: say what to fix, no traceback
        log.error("cannot start: %s", problem)
    if problems:
        return EX_CONFIG
    try:
        with contextlib.ExitStack() as held:
            try:
                held.enter_context(state_lock(config.service.state_dir))
            except OSError as exc:  # e.g. not creatable although its parent looked writable
                log.error("cannot start: cannot create or lock the state directory %s: %s",
                          config.service.state_dir, exc.strerror or exc)
                return EX_CONFIG
            notifier = Notifier()
            if is_postgres(config):  # standby until the lease is ours (service.failover)
                try:
                    from service.failover_run import run_failover
                except ImportError as exc:
                    log.error("cannot start: %s", missing_extra(exc))
                    return EX_CONFIG
                return run_failover(config, stop, notifier, lambda inbox, role, observe:
                                    _run_active(config, stop, notifier, inbox, sentry, role,
                                                observe), reset=reset_inbox)
            inbox = open_inbox(config.service.state_dir, reset=reset_inbox,
                               retention_s=retention_s(config))
            return _run_active(config, stop, notifier, inbox, sentry)
    except AlreadyRunning as exc:
        log.error("refusing to start: %s", exc)
        return EX_TEMPFAIL
    except Fatal as exc:  # a lost, replaced or damaged inbox: a restart cannot fix it
        log.error("cannot start: %s: %s", type(exc).__name__, exc)
        return EX_CONFIG
    except SubscriberError as exc:  # e.g. the inbox cannot be read at start-up
        log.error("cannot start: %s: %s", type(exc).__name__, exc)
        return 1


def _run_active(config: Config, stop: threading.Event, notifier: Notifier, inbox: InboxStore,
                sentry: SentrySettings, role: Role | None = None,
                observe: Callable[[Metrics], None] | None = None) -> int:
    _record_ops(inbox, config, sentry)
    return _run_locked(config, stop, notifier, inbox, role, observe)


def _record_ops(inbox: InboxStore, config: Config, sentry: SentrySettings) -> None:
    """What ``status`` shows of Sentry and metrics (never the DSN's key)."""
    inbox.set_meta(OPS_KEY, json.dumps({
        "sentry": {"on": sentry.enabled, "environment": sentry.environment,
                   "release": sentry.release, "host": sentry.dsn.rpartition("@")[2],
                   "crons": sentry.crons},
        "metrics_port": config.metrics.port, "mode": config.service.mode}))


def apply_loop(config: Config, sessions: auth.SessionProvider, inbox: InboxStore,
               metrics: Metrics | None = None, lease: Lease | None = None) -> ApplyLoop:
    """The apply loop and one gateway per worker (several cycles in flight, so Salesforce's
    latency overlaps: README, burst); REST trusts the same CA file as gRPC."""
    a = config.apply
    shadow = config.service.mode == "shadow"
    settings = ClientSettings(ca_file=config.pubsub.ca_file)
    gateway = GatewaySettings(create_opportunity=a.create_opportunity)
    clients = [SalesforceClient(sessions, settings) for _ in range(1 if shadow else a.workers)]
    on_settled = None
    if metrics is not None:
        for client in clients:
            client.on_response(lambda r: metrics.limit_info(r.headers.get("Sforce-Limit-Info")))
        # Shadow cycles apply nothing: their writes are counted as intended (ShadowGateway),
        # never as applied or parked events.
        on_settled = None if shadow else _observe_cycles(metrics)
    status = ConvertedStatus()  # read once for all workers
    gateways: list[Gateway] = [SalesforceGateway(c, gateway, status) for c in clients]
    if lease is not None:  # no Salesforce call starts once the lease is not trusted
        gateways = [FencedGateway(g, lease) for g in gateways]
    if shadow:  # decide everything, write nothing; entries stay pending for live
        count = metrics.intended if metrics is not None else (lambda op, obj: None)
        gateways = [ShadowGateway(g, count) for g in gateways]
        applied: ApplyInbox = ShadowInbox(inbox)
    else:
        applied = inbox
    return ApplyLoop(applied, gateways,
                     ApplySettings(batch_size=a.batch_size, limit_pause_s=a.limit_pause_s),
                     on_report=lambda error_class, message: report_to_sentry(
                         "apply", error_class, message),
                     on_settled=on_settled)


def _observe_cycles(metrics: Metrics) -> Callable[[Sequence[InboxEntry], CycleResult], None]:
    def observe(entries: Sequence[InboxEntry], result: CycleResult) -> None:
        try:
            metrics.settled(entries, result.applied, result.parked)
        except Exception:  # metrics must never stop applying
            log.exception("recording apply metrics failed")

    return observe


def session_provider(config: Config) -> auth.SessionProvider:
    """One login for everything (gRPC, REST, SOAP), refreshed single-flight."""
    login = HintedLogin(token_source(config.auth, config.pubsub.ca_file), config.pubsub.ca_file)
    return auth.SessionProvider(login, backoff_initial_s=config.pubsub.backoff_initial_s,
                                backoff_max_s=config.pubsub.backoff_max_s)


def _run_locked(config: Config, stop: threading.Event, notifier: Notifier, inbox: InboxStore,
                role: Role | None = None, observe: Callable[[Metrics], None] | None = None
                ) -> int:
    sessions = session_provider(config)
    readers = readers_of(inbox)
    metrics = Metrics(config.pubsub.topics, readers)
    if observe is not None:
        observe(metrics)
    applier = apply_loop(config, sessions, inbox, metrics, None if role is None else role.lease)
    hooks = ObservedHooks(config.pubsub.topics, metrics, stale_after_s=_stale_after_s(config),
                          state_dir=config.service.state_dir, on_stored=applier.wake)
    health = Health(config.pubsub.topics, readers, applier, hooks.alive,
                    config.metrics.apply_stuck_s, shadow=config.service.mode == "shadow")
    hooks.health = health
    intake = Intake(intake_settings(config), sessions, inbox, hooks)
    runs = open_runs(config.service.state_dir, inbox)
    jobs = build_scheduler(job_runner(config, sessions, inbox, runs, hold=applier.holding,
                                      crons=config.sentry.crons, metrics=metrics),
                           runs, config.scheduler)
    server = (HealthServer(config.metrics.port, metrics.registry, health).start()
              if config.metrics.port else None)
    failure: list[BaseException] = []
    worker = threading.Thread(target=_guarded, args=(intake, stop, failure), name="intake",
                              daemon=True)
    apply_thread = threading.Thread(target=_guarded, args=(applier, stop, failure),
                                    name="apply", daemon=True)
    try:
        worker.start()
        apply_thread.start()
        if config.service.mode == "shadow":
            log.warning("shadow mode: nothing is written to Salesforce; each intended write "
                        "is logged (lifecycle_sync.shadow) and counted; scheduled jobs do "
                        "not run")
        elif config.scheduler.enabled:  # its own threads: jobs never block intake or apply
            jobs.start()
        log.info("started: state %s, auth %s, endpoint %s, topics %s",
                 config.service.state_dir, config.auth.mode, config.pubsub.endpoint,
                 ", ".join(config.pubsub.topics))
        notifier.ready("receiving " + ", ".join(config.pubsub.topics))
        _supervise(stop, notifier, hooks, health, inbox, readers)
        _add_hint(failure, config)
        code = _finish(worker, notifier, hooks, failure, config.service.shutdown_timeout_s)
        # A cycle still in flight is abandoned, not awaited: nothing was marked applied for
        # it, and the rules make its repetition after the restart write nothing twice.
        apply_thread.join(min(2.0, config.service.shutdown_timeout_s))
        return code
    finally:
        if server is not None:
            server.close()
        if jobs.running:
            jobs.shutdown(wait=False)  # a job in flight is abandoned like an apply cycle
        runs.close()
        inbox.close()


def _add_hint(failure: list[BaseException], config: Config) -> None:
    """A rejected login says what to check, in the one line that reports it."""
    exc = failure[0] if failure else None
    if isinstance(exc, Fatal) and exc.error_code:
        hint = login_failure(exc.error_code, config.auth)
        if hint:
            failure[0] = Fatal(f"{exc}{hint}", error_code=exc.error_code, rpc_id=exc.rpc_id)


def _guarded(part: Intake | ApplyLoop, stop: threading.Event, failure: list[BaseException]
             ) -> None:
    """Run the intake or the apply loop; record why it ended early and wake the main thread."""
    try:
        part.run(stop)
    except BaseException as exc:  # noqa: BLE001 - reported by _finish on the main thread
        failure.append(exc)
    finally:
        stop.set()


def _supervise(stop: threading.Event, notifier: Notifier, hooks: ObservedHooks,
               health: Health, inbox: InboxStore, readers: ReaderSource) -> None:
    """Until stop: ping systemd's watchdog while every topic shows life and apply is not
    stuck (progressing, idle, or holding back on purpose); keep STATUS= current; prune."""
    tick_s = min(notifier.watchdog_interval_s or 5.0, 5.0)
    next_prune = time.monotonic()
    last_status = ""
    while not stop.wait(tick_s):
        stuck = health.apply_stuck()
        if hooks.alive() and not stuck:
            notifier.watchdog()
        elif stuck:
            log.warning("%s; not feeding the watchdog", stuck)
        status = status_line(hooks.totals(), readers, health.problems())
        if status != last_status:
            notifier.status(status)
            last_status = status
        if time.monotonic() >= next_prune:
            next_prune = time.monotonic() + PRUNE_EVERY_S
            _prune(inbox)


def _prune(inbox: InboxStore) -> None:
    try:
        removed = inbox.prune()
    except SubscriberError as exc:
        log.warning("inbox prune failed: %s", exc)
        return
    if removed:
        log.info("pruned %d applied inbox entries past retention", removed)


def _finish(worker: threading.Thread, notifier: Notifier, hooks: ObservedHooks,
            failure: list[BaseException], timeout_s: float) -> int:
    notifier.stopping()
    worker.join(timeout_s)
    log.info("totals: %s", hooks.summary())
    if worker.is_alive():
        log.error("intake did not stop within %.1f s; exiting anyway (the inbox is "
                  "transactional; at worst the last batch is fetched again)", timeout_s)
        return 1
    if failure:
        exc = failure[0]
        if isinstance(exc, Fatal):
            # A human must act (topic or permission, rejected credentials, a refused replay
            # ID under on_invalid_replay=fail): restarting cannot fix it, so systemd must not
            # retry (RestartPreventExitStatus=78).
            log.error("stopped: %s: %s", type(exc).__name__, exc)
            return EX_CONFIG
        if isinstance(exc, InboxFailed):
            # Retrying in place would refetch the same batch every backoff, burning the daily
            # delivery allocation while nothing lands; exit 1: systemd restarts after
            # RestartSec, and its start limit marks the unit failed if the fault persists.
            log.error("stopped: %s: %s. Exiting 1 so the service manager restarts the "
                      "daemon; a persistent fault (disk full, I/O errors) needs a human",
                      type(exc).__name__, exc)
        elif isinstance(exc, SubscriberError):
            log.error("stopped: %s: %s", type(exc).__name__, exc)
        else:
            log.error("stopped by an unexpected error", exc_info=exc)
        return 1
    log.info("stopped cleanly")
    return 0


def _stale_after_s(config: Config) -> float:
    """Silence on a topic longer than this means the intake is wedged, not merely idle."""
    p = config.pubsub
    return p.keepalive_s + p.watchdog_margin_s + p.backoff_max_s + p.ping_interval_s
