"""Runs the daemon from a :class:`~service.config.Config` until told to stop.

With :mod:`service.daemon_parts` (which builds every part) and :mod:`service.connections`
(login and stream settings), the only place that knows both the configuration and the
subscriber's classes: everything is built there and passed down, so nothing else reads
settings or creates clients on its own. Two threads do the work: the intake fills the
inbox; the apply loop empties it into Salesforce, woken by the intake after each commit.
Scheduled jobs (:mod:`scheduler`) run on APScheduler's own threads. The main thread feeds
systemd's watchdog, keeps STATUS= current, judges the sync SLA and prunes the inbox.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from service.config import Config
from service.connections import intake_settings as intake_settings  # re-exported
from service.connections import session_provider as session_provider  # re-exported
from service.connections import token_source as token_source  # re-exported
from service.daemon_parts import DaemonParts, IntakeParts, build_intake, build_rest
from service.health import HealthServer, serve_health
from service.hints import login_failure
from service.inbox_backend import OPS_KEY, is_postgres, missing_extra, retention_s
from service.lifecycle import AlreadyRunning, Notifier, install_stop_handlers, state_lock
from service.local_checks import startup_problems
from service.logging_setup import configure_logging
from service.malloc_arenas import limit_arenas
from service.metrics import Metrics
from service.observed_hooks import ObservedHooks
from service.sentry_setup import SentrySettings, fatal_scope, from_env, init_sentry
from service.sentry_setup import flush as flush_sentry
from service.shutdown import stop_writers
from service.state_guard import open_inbox
from service.supervise import supervise as _supervise  # re-exported for tests
from subscriber.errors import Fatal, InboxFailed, SubscriberError
from subscriber.inbox_api import InboxStore
from subscriber.intake import Intake

if TYPE_CHECKING:
    from scheduler.registry import RealigningScheduler
    from service.apply_loop import ApplyLoop
    from service.failover import Role

log = logging.getLogger("lifecycle_sync")

EX_TEMPFAIL = 75
EX_CONFIG = 78  # also: a Fatal error at run time, which a restart cannot fix


def run_daemon(config: Config, *, reset_inbox: bool = False, log_format: str = "text") -> int:
    """Hold the state lock and run the intake until SIGTERM/SIGINT; returns the exit code.

    ``reset_inbox``: accept a missing or replaced inbox (see :mod:`service.state_guard`).
    ``log_format``: ``text`` (stderr) or ``json`` (stdout, one object per line)."""
    stop = threading.Event()
    install_stop_handlers(stop)  # first: a SIGTERM during start-up is still a clean stop
    limit_arenas()  # before any thread starts (service.malloc_arenas)
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
            if is_postgres(config):  # standby until the lease is ours (service.failover)
                return _run_failover(config, stop, reset_inbox, sentry)
            inbox = open_inbox(config.service.state_dir, reset=reset_inbox,
                               retention_s=retention_s(config))
            return _run_active(config, stop, Notifier(), inbox, sentry)
    except AlreadyRunning as exc:
        log.error("refusing to start: %s", exc)
        return EX_TEMPFAIL
    except Fatal as exc:  # a lost, replaced or damaged inbox: a restart cannot fix it
        log.error("cannot start: %s: %s", type(exc).__name__, exc)
        return EX_CONFIG
    except SubscriberError as exc:  # e.g. the inbox cannot be read at start-up
        log.error("cannot start: %s: %s", type(exc).__name__, exc)
        return 1


def _run_failover(config: Config, stop: threading.Event, reset_inbox: bool,
                  sentry: SentrySettings) -> int:
    """The PostgreSQL inbox: wait as standby, run as active while the lease is ours."""
    try:
        from service.failover_run import run_failover
    except ImportError as exc:  # psycopg is the optional "postgres" extra
        log.error("cannot start: %s", missing_extra(exc))
        return EX_CONFIG
    notifier = Notifier()
    return run_failover(config, stop, notifier, lambda inbox, role, observe: _run_active(
        config, stop, notifier, inbox, sentry, role, observe), reset=reset_inbox)


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


def _run_locked(config: Config, stop: threading.Event, notifier: Notifier, inbox: InboxStore,
                role: Role | None = None, observe: Callable[[Metrics], None] | None = None
                ) -> int:
    failure: list[BaseException] = []
    first = build_intake(config, inbox, observe)
    worker = threading.Thread(target=_guarded, args=(first.intake, stop, failure), name="intake",
                              daemon=True)
    worker.start()  # first: it logs in and lands events while the rest is built
    p, server = _build_rest(config, inbox, first, role, stop, worker)
    if role is not None:  # until _stop_writers knows better: keep the lease at any exit
        role.left_running(["apply loop", "scheduled jobs"])
    apply_thread = threading.Thread(target=_guarded, args=(p.applier, stop, failure),
                                    name="apply", daemon=True)
    try:
        apply_thread.start()
        _start_jobs(config, p.jobs)
        notifier.ready("receiving " + ", ".join(config.pubsub.topics))
        _supervise(stop, notifier, p, inbox)
        _add_hint(failure, config)
        return _wind_down(config, role, (worker, apply_thread), notifier, p, failure)
    finally:
        if server is not None:
            server.close()
        if p.jobs.running:
            p.jobs.shutdown(wait=False)  # a job in flight is abandoned like an apply cycle
        p.runs.close()
        inbox.close()


def _build_rest(config: Config, inbox: InboxStore, first: IntakeParts, role: Role | None,
                stop: threading.Event, worker: threading.Thread
                ) -> tuple[DaemonParts, HealthServer | None]:
    """The apply loop, health (its port bound), jobs and SLA, built while the intake runs; if
    that fails (a metrics port taken), the intake is stopped (its batch in hand committed)
    before the error goes on: no intake left running, and on PostgreSQL no lease released
    under a running intake."""
    try:
        p = build_rest(config, inbox, first, role)
        return p, serve_health(config.metrics.port, p.metrics.registry, p.health)
    except BaseException:
        stop.set()
        worker.join(config.service.shutdown_timeout_s)
        raise


def _wind_down(config: Config, role: Role | None,
               threads: tuple[threading.Thread, threading.Thread], notifier: Notifier,
               p: DaemonParts, failure: list[BaseException]) -> int:
    """Stop the intake, then the writers, within ONE ``shutdown_timeout_s`` in all (each its
    own budget made a stop last twice that, past systemd's TimeoutStopSec=15 and its
    SIGKILL); the exit code."""
    budget_s = config.service.shutdown_timeout_s
    deadline = time.monotonic() + budget_s
    worker, apply_thread = threads
    code = _finish(worker, notifier, p.hooks, failure, budget_s)
    _stop_writers(role, apply_thread, p, max(0.0, deadline - time.monotonic()))
    return code


def _stop_writers(role: Role | None, apply_thread: threading.Thread, p: DaemonParts,
                  budget_s: float) -> None:
    """Let the apply cycles and jobs in flight finish, within what is left of the shutdown
    timeout on PostgreSQL (the lease is released only if they did: service.shutdown), 2 s
    on SQLite. One that does not is abandoned: nothing was marked applied for it, and the
    rules make its repetition after the restart write nothing twice."""
    running = stop_writers(apply_thread, p.applier.workers, p.jobs,
                           budget_s if role is not None else min(2.0, budget_s))
    if running:  # on PostgreSQL it costs the standby the takeover wait: worth a warning
        log.log(logging.INFO if role is None else logging.WARNING,
                "stopping with %s still running (abandoned)", ", ".join(running))
    if role is not None:
        role.left_running(running)


def _start_jobs(config: Config, jobs: RealigningScheduler) -> None:
    """Jobs on their own threads (never blocking intake or apply); in shadow mode only
    trial-alerts, deciding and writing nothing (service/shadow_jobs.py)."""
    if config.service.mode == "shadow":
        log.warning("shadow mode: nothing is written to Salesforce; each intended write "
                    "is logged (lifecycle_sync.shadow) and counted; of the scheduled jobs "
                    "only trial-alerts runs, deciding the Tasks it would create")
    if config.scheduler.enabled:
        jobs.start()
    log.info("started: state %s, auth %s, endpoint %s, topics %s",
             config.service.state_dir, config.auth.mode, config.pubsub.endpoint,
             ", ".join(config.pubsub.topics))


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
            with fatal_scope(exc.error_code):
                log.error("stopped: %s: %s", type(exc).__name__, exc)
            return EX_CONFIG
        if isinstance(exc, InboxFailed):
            # Retrying in place would refetch the same batch every backoff, burning the daily
            # delivery allocation while nothing lands; exit 1: systemd restarts after
            # RestartSec, and its start limit marks the unit failed if the fault persists.
            # (A full disk never gets here: intake and apply pause and probe, InboxFull.)
            log.error("stopped: %s: %s. Exiting 1 so the service manager restarts the "
                      "daemon; a persistent fault (I/O errors, damage) needs a human",
                      type(exc).__name__, exc)
        elif isinstance(exc, SubscriberError):
            log.error("stopped: %s: %s", type(exc).__name__, exc)
        else:
            log.error("stopped by an unexpected error", exc_info=exc)
        return 1
    log.info("stopped cleanly")
    return 0
