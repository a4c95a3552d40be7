"""``lifecycle-sync jobs list|run NAME`` and ``lifecycle-sync forget --email ADDRESS``.

``jobs run`` and ``forget`` run in this process while the daemon is stopped: they take the
state directory's lock (the daemon's), so they can never run beside it or beside each other,
and refuse with exit 75 while a daemon holds it. That is simpler and more robust than asking a
running daemon over some channel: there is one writer of the state directory at any time.
``jobs list`` only reads (``STATE/jobs.db`` read-only) and is safe while the daemon runs.
In shadow mode ``jobs run`` runs nothing: it says what the job would write (the daemon in
shadow mode runs trial-alerts only, deciding and writing nothing: service/shadow_jobs.py).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from handlers.emails import InvalidEmail, normalise_email
from scheduler.runs import DamagedJobsFile
from scheduler.settings import JOB_NAMES
from scheduler.timing import describe, first_run_at, triggers
from service.apply_reports import scrub
from service.config import Config
from service.inbox_backend import ActiveElsewhere, run_records
from service.lifecycle import AlreadyRunning, lock_holder, state_lock
from service.run_cmd import EX_CONFIG, EX_TEMPFAIL, config_or_report, config_source_args
from subscriber.errors import Fatal

EX_FAILED = 1
EX_USAGE = 64
# What each job writes, said by ``jobs run`` in shadow mode instead of running it.
SHADOW_WOULD = {  # config keys named as section.key (tests check they exist)
    "retry-parked": "re-apply the due parked Event_Cache__c rows (status New or Error, fewer "
                    "than scheduler.retry_max_attempts tries, Next_Attempt_At__c passed) in "
                    "event-time order, writing their records and updating each row's status, "
                    "retry count and next attempt",
    "trial-alerts": "create a Task for the owner of each Workspace whose trial expires within "
                    "the alert window (alerts.thresholds_days), once per Workspace and expiry",
    "retention": "delete Completed Event_Cache__c rows past retention.completed_days, redact "
                 "old Error rows' payloads (retention.error_redact_days), and prune the local "
                 "inbox and job records",
    "reconcile-gaps": "flag for review (Needs_Review__c) the Workspaces a recorded replay gap "
                      "(a refused replay ID, see pubsub.on_invalid_replay) may have left stale, "
                      "and mark the gap reconciled",
}


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``jobs`` and ``forget``."""
    jobs = sub.add_parser(
        "jobs", help="list the scheduled jobs, or run one now",
        description="list: each job, its schedule, last run, result and next run (safe while "
                    "the daemon runs). run NAME: run one job now, in this process; the daemon "
                    "must be stopped (this takes its state lock). Jobs: "
                    + ", ".join(JOB_NAMES),
        epilog="exit codes: 0 ok, 1 the job failed (list: STATE/jobs.db is damaged), 64 run "
               "without a job name, 75 the "
               "daemon is running (stop it, or let it run the job on schedule), 78 invalid "
               "configuration, or run refused because STATE/jobs.db is damaged (the message "
               "says how to recover: move it aside)")
    jobs.add_argument("action", choices=("list", "run"))
    jobs.add_argument("name", nargs="?", choices=JOB_NAMES, help="the job to run")
    jobs.add_argument("--json", action="store_true", help="list: one JSON object")
    config_source_args(jobs)
    jobs.set_defaults(func=_jobs)
    forget = sub.add_parser(
        "forget", help="erase one person's email address from what lifecycle-sync keeps",
        description="Removes ADDRESS from the local inbox (payloads and every copy: the file is "
                    "vacuumed and its WAL truncated) and from parked Event_Cache__c rows, and "
                    "lists the Salesforce Leads, Contacts and Workspaces that still hold it "
                    "for your own erasure process. The erasure is recorded with a SHA-256 of "
                    "the address, never the address. The daemon must be stopped.",
        epilog="exit codes: 0 done, 1 failed or not confirmed, 64 not an email address, 75 the "
               "daemon is running, 78 invalid configuration")
    forget.add_argument("--email", required=True, metavar="ADDRESS")
    forget.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    config_source_args(forget)
    forget.set_defaults(func=_forget)


def _jobs(args: argparse.Namespace) -> int:
    config = config_or_report(args)
    if config is None:
        return EX_CONFIG
    if args.action == "list":
        try:
            rows = job_table(config, dt.datetime.now(dt.UTC))
        except DamagedJobsFile as exc:
            print(f"lifecycle-sync: {exc}", file=sys.stderr)
            return EX_FAILED
        sys.stdout.write(json.dumps({"jobs": rows}) + "\n" if args.json else render(rows))
        return 0
    if args.name is None:  # a usage error, like forget's (64), not a configuration one
        print("lifecycle-sync: jobs run: name a job: " + ", ".join(JOB_NAMES), file=sys.stderr)
        return EX_USAGE
    if config.service.mode == "shadow":  # a pilot writes nothing to Salesforce
        print(f"{args.name}: shadow mode: not run, nothing written; live mode would "
              f"{SHADOW_WOULD[args.name]}")
        return 0
    with _locked(config) as ok:
        if not ok:
            return EX_TEMPFAIL
        from service.jobs_session import run_job  # heavy imports only when really running

        try:
            outcome = run_job(config, args.name)
        except (DamagedJobsFile, Fatal) as exc:  # a restart cannot fix it: refuse, say how
            print(f"lifecycle-sync: refusing to run: {exc}", file=sys.stderr)
            return EX_CONFIG
        except ActiveElsewhere as exc:  # PostgreSQL inbox: the active node runs the jobs
            print(f"lifecycle-sync: {exc}", file=sys.stderr)
            return EX_TEMPFAIL
    print(f"{outcome.job}: {'ok' if outcome.ok else 'FAILED'}: {outcome.summary}")
    return 0 if outcome.ok else EX_FAILED


def job_table(config: Config, now: dt.datetime) -> list[dict[str, Any]]:
    """Each job: schedule, last run, result, summary, next run (read-only)."""
    running = lock_holder(config.service.state_dir) is not None
    rows = []
    with run_records(config) as store:
        for name, trigger in triggers(config.scheduler).items():
            state = store.state(name) if store else None
            last = state.last_started_at if state else None
            upcoming = state.next_run_at if state and running else first_run_at(
                trigger, last, now, state.last_result if state else None)
            rows.append({"job": name, "schedule": describe(name, config.scheduler),
                         "last_run": _iso(last), "result": state.last_result if state else None,
                         "summary": state.last_summary if state else "",
                         "runs": state.runs if state else 0,
                         "failures": state.failures if state else 0,
                         "next_run": _iso(upcoming) if config.scheduler.enabled else None})
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    lines = []
    for r in rows:
        lines.append(f"{r['job']}: {r['schedule']}")
        lines.append(f"  last run {r['last_run'] or 'never'}: {r['result'] or '-'}"
                     + (f" ({r['summary']})" if r["summary"] else ""))
        lines.append(f"  next run {r['next_run'] or 'not scheduled'}")
    return "\n".join(lines) + "\n"


def _iso(at: dt.datetime | None) -> str | None:
    return None if at is None else at.isoformat(timespec="seconds")


@contextlib.contextmanager
def _locked(config: Config) -> Iterator[bool]:
    try:
        with state_lock(config.service.state_dir):
            yield True
    except AlreadyRunning as exc:
        if _is_other_command(exc.pid):  # another `jobs run` or `forget`: no daemon claimed
            print(f"lifecycle-sync: {exc}. Another jobs run or forget is in progress; run "
                  "this again when it has finished", file=sys.stderr)
        else:
            print(f"lifecycle-sync: {exc}. A running daemon runs the jobs on schedule; stop "
                  "it to run one now", file=sys.stderr)
        yield False


def _is_other_command(pid: int | None) -> bool:
    """True when the lock holder is a ``jobs`` or ``forget`` command (Linux: its command
    line), not the daemon."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return False
    return pid is not None and any(a in (b"jobs", b"forget") for a in argv)


def _forget(args: argparse.Namespace) -> int:
    try:  # "forget --email a" must not erase every "a": only a valid address is accepted
        normalise_email(args.email)
    except InvalidEmail as exc:
        print(f"lifecycle-sync: forget --email: not an email address ({exc})", file=sys.stderr)
        return EX_USAGE
    config = config_or_report(args)
    if config is None:
        return EX_CONFIG
    if not args.yes and not _confirmed(args.email, config.service.state_dir):
        print("lifecycle-sync: not confirmed; nothing was changed", file=sys.stderr)
        return EX_FAILED
    with _locked(config) as ok:
        if not ok:
            return EX_TEMPFAIL
        from service.jobs_session import run_forget

        try:
            report = run_forget(config, args.email)
        except ActiveElsewhere as exc:
            print(f"lifecycle-sync: {exc}", file=sys.stderr)
            return EX_TEMPFAIL
        except Exception as exc:  # noqa: BLE001 - one line, never the address
            print(f"lifecycle-sync: forget failed: {type(exc).__name__}: {scrub(str(exc))}. "
                  "It can be run again (what was erased stays erased)", file=sys.stderr)
            return EX_FAILED
    print(report.summary())
    for obj, ids in report.still_holding.items():
        for record_id in ids:
            print(f"  still in Salesforce: {obj} {record_id}")
    return 0


def _confirmed(email: str, state_dir: Path) -> bool:
    if not sys.stdin.isatty():
        print("lifecycle-sync: forget asks for confirmation on a terminal; pass --yes to run "
              "it unattended", file=sys.stderr)
        return False
    answer = input(f"Erase {email} from {state_dir} and from parked Salesforce rows? [y/N] ")
    return answer.strip().lower() in ("y", "yes")
