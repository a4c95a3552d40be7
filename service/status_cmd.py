"""``lifecycle-sync status``: where each topic stands, read safely beside a running daemon.

The inbox is opened read-only (SQLite ``mode=ro``), and whether a daemon runs is read from
``/proc/locks`` rather than by testing the lock, so ``status`` can never block the daemon,
make a starting daemon think it is the second instance, or write to its state.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import sys
import time
from pathlib import Path
from typing import Any

from service.config import Config, ConfigError, inbox_path, load_config
from service.connection_state import CONNECTED, read_connection_state
from service.event_labels import event_type, workspace_id
from service.gap_report import gap_lines, topic_gaps
from service.inbox_backend import OPS_KEY, ReaderSource, open_reader, run_records
from service.lifecycle import lock_holder
from service.sla import SLA_KEY, sla_line
from service.state_guard import IDENTITY_NAME
from service.status_failover import failover_report, pg_reader, render_failover
from service.status_jobs import jobs_from, jobs_report
from subscriber.errors import SubscriberError
from subscriber.inbox_api import InboxReader

EX_NOT_CONNECTED = 3
DEFAULT_MAX_DISCONNECTED_S = 600.0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``status``."""
    p = sub.add_parser(
        "status", help="show checkpoints and inbox counts per topic (safe while running)",
        description="Per topic: the checkpoint (replay ID in hex) and when it was written, the "
                    "inbox counts by state (pending, applied, poison) and the age of the oldest "
                    "pending entry, and any replay gap (a refused replay ID: where it began "
                    "and what to reconcile). Reads the state directory read-only.",
    )
    p.add_argument("--state", type=Path, metavar="DIR",
                   help="state directory (required unless --config names one)")
    p.add_argument("--config", type=Path, metavar="FILE",
                   help="the TOML config: with inbox.backend = \"postgres\" the inbox is read "
                        "from PostgreSQL and this node's role (active/standby), the lease "
                        "holder, epoch and expiry are shown")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object on stdout instead of text")
    p.add_argument("--recent", type=_count, default=0, metavar="N",
                   help="also list the N most recently landed inbox entries (topic, type, "
                        "workspace ID, replay ID, state; never the email)")
    p.add_argument("--max-disconnected-s", type=float, default=DEFAULT_MAX_DISCONNECTED_S,
                   metavar="S",
                   help=f"exit {EX_NOT_CONNECTED} when the daemon runs but a topic has not "
                        "been connected for longer than this (default: %(default)s s; a "
                        "topic counts as connected again as soon as its stream is open)")
    p.epilog = (f"exit codes: 0 ok (or no daemon running), 1 no state directory, no "
                f"readable inbox or a damaged jobs.db, {EX_NOT_CONNECTED} the daemon runs but a "
                "topic has not been connected for longer than --max-disconnected-s")
    p.set_defaults(func=_status)


def _count(text: str) -> int:
    """``--recent N``: a whole number, 0 or more (a negative one is a typo, not "none")."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative; give 0 or more entries")
    return value


def collect_status(state_dir: Path, source: ReaderSource | None = None) -> dict[str, Any]:
    """The status report as plain JSON-ready values; raises SubscriberError if no inbox.
    ``source``: where the inbox is read (default: the state directory's SQLite file)."""
    path = inbox_path(state_dir)
    with open_reader(source or path) as inbox:
        counts = inbox.counts_by_topic()
        topics: dict[str, Any] = {}
        for topic in sorted(counts):
            c = counts[topic]
            replay_id, written_at = inbox.checkpoint(topic)
            topics[topic] = {
                "replay_id": replay_id.hex() if replay_id is not None else None,
                "checkpoint_at": written_at.isoformat() if written_at is not None else None,
                "pending": c.pending,
                "applied": c.applied,
                "poison": c.poison,
                "parked": c.parked,
                "oldest_pending_age_s": (round(c.oldest_pending_age_s, 3)
                                         if c.oldest_pending_age_s is not None else None),
                "gaps": topic_gaps(inbox, topic),
            }
        apply = _apply_state(inbox)
        ops = json.loads(inbox.meta(OPS_KEY) or "null")
        sla = json.loads(inbox.meta(SLA_KEY) or "null")
    pid = lock_holder(state_dir)
    return {"state_dir": str(state_dir), "inbox": str(path) if source is None else "postgres",
            "daemon_pid": pid,
            "connection": _connection(state_dir, pid), "topics": topics, "apply": apply,
            "jobs": jobs_report(state_dir), "ops": ops, "sla": sla}


def _connection(state_dir: Path, pid: int | None) -> dict[str, Any] | None:
    """The running daemon's per-topic connection state (None when none runs, or it wrote
    none yet); each topic gets ``since_s``, how long it has been in that state."""
    found = read_connection_state(state_dir) if pid is not None else None
    if found is None or found.get("pid") != pid:
        return None
    now = time.time()
    topics: dict[str, Any] = found["topics"]
    for state in topics.values():
        since = state.get("since")
        state["since_s"] = round(now - since, 1) if isinstance(since, int | float) else None
    return topics


def recent_entries(inbox: InboxReader, limit: int) -> list[dict[str, Any]]:
    """The ``limit`` most recently landed entries, newest first, without personal data."""
    return [{"received_at": e.received_at.isoformat(timespec="seconds"), "topic": e.topic,
             "type": event_type(e.kind, e.payload, e.change), "workspace": workspace_id(e.payload),
             "replay_id": e.replay_id.hex(), "status": e.status.value}
            for e in inbox.recent(limit)]


def not_connected(report: dict[str, Any], max_disconnected_s: float) -> list[str]:
    """Topics of a running daemon not connected for longer than ``max_disconnected_s``."""
    return [topic for topic, state in (report.get("connection") or {}).items()
            if state.get("state") != CONNECTED
            and (state.get("since_s") or 0.0) > max_disconnected_s]


def _apply_state(inbox: InboxReader) -> dict[str, Any]:
    """The apply side: waiting (pending) entries, paused or not, the last error class."""
    try:
        last = json.loads(inbox.meta("apply:last_error") or "null")
    except ValueError:
        last = None
    counts = inbox.counts_by_topic().values()
    return {
        "applied": sum(c.applied - c.parked for c in counts),
        "parked": sum(c.parked for c in counts),
        "waiting": sum(c.pending for c in counts),
        "paused": inbox.meta("apply:paused") == "1",
        "last_error_class": last.get("class") if isinstance(last, dict) else None,
        "last_error_at": last.get("at") if isinstance(last, dict) else None,
    }


def render_text(report: dict[str, Any]) -> str:
    """The report for a terminal: one block per topic."""
    pid = report["daemon_pid"]
    running = f"daemon running (PID {pid})" if pid is not None else "no daemon running"
    lines = [f"{report['state_dir']}: {running}"]
    for topic, state in (report.get("connection") or {}).items():
        lines.append(_connection_line(topic, state))
    if not report["topics"]:
        lines.append("  no topics yet")
    for topic, t in report["topics"].items():
        checkpoint = t["replay_id"] or "none"
        when = f" at {t['checkpoint_at']}" if t["checkpoint_at"] else ""
        age = t["oldest_pending_age_s"]
        oldest = f", oldest pending {age:.1f} s" if age is not None else ""
        lines.append(f"{topic}")
        lines.append(f"  checkpoint {checkpoint}{when}")
        lines.append(f"  pending {t['pending']}, applied {t['applied']}, "
                     f"poison {t['poison']}{oldest}")
        lines.extend(gap_lines(t))
    a = report.get("apply")
    if a:
        paused = ", PAUSED (API limit)" if a["paused"] else ""
        last = a["last_error_class"] or "none"
        lines.append(f"apply: applied {a['applied']}, parked {a['parked']}, waiting "
                     f"{a['waiting']}{paused}, last error class: {last}")
    for name, j in (report.get("jobs") or {}).items():
        if name == "damaged":
            lines.append("jobs: STATE/jobs.db is damaged (see the message on stderr)")
            continue
        result = j["result"] or "never run"
        detail = f" ({j['summary']})" if j["summary"] else ""
        lines.append(f"job {name}: {result}{detail}; last run {j['last_run'] or '-'}, next "
                     f"{j['next_run'] or '-'}, {j['runs']} run(s), {j['failures']} failed")
    lines.extend(_ops_lines(report.get("ops")))
    sla = sla_line(report.get("sla"))
    if sla:
        lines.append(sla)
    lines.extend(render_failover(report.get("failover")))
    return "\n".join(lines) + "\n"


def _ops_lines(ops: dict[str, Any] | None) -> list[str]:
    """Sentry, metrics and mode as the daemon last started with them."""
    if not ops:
        return []
    s = ops.get("sentry") or {}
    sentry = (f"sentry: on, environment {s.get('environment')}, release {s.get('release')}, "
              f"to {s.get('host')}, cron check-ins {'on' if s.get('crons') else 'off'}"
              if s.get("on") else "sentry: off (no DSN)")
    port = ops.get("metrics_port")
    metrics = f"metrics: http://127.0.0.1:{port}/metrics" if port else "metrics: off"
    mode = ("mode: SHADOW (nothing is written to Salesforce; pending entries are applied by "
            "live mode)" if ops.get("mode") == "shadow" else "mode: live")
    return [mode, sentry, metrics]


def _connection_line(topic: str, state: dict[str, Any]) -> str:
    since, age_s = state.get("since"), state.get("since_s")
    when = ""
    if isinstance(since, int | float) and isinstance(age_s, int | float):
        stamp = dt.datetime.fromtimestamp(since, dt.UTC).isoformat(timespec="seconds")
        when = f" since {stamp} (for {age_s:.0f} s)"
    line = f"  {topic}: {state.get('state')}{when}"
    if state.get("state") != CONNECTED and state.get("last_error"):
        line += f", {state.get('failures', 0)} failed attempt(s), last: {state['last_error']}"
    return line


def render_recent(entries: list[dict[str, Any]]) -> str:
    """``--recent``: one line per entry, newest first."""
    lines = ["recent entries (newest first):"] if entries else ["no entries yet"]
    lines.extend(f"  {e['received_at']} {e['topic']} {e['type']} workspace={e['workspace']} "
                 f"replay_id={e['replay_id']} {e['status']}" for e in entries)
    return "\n".join(lines) + "\n"


def _status(args: argparse.Namespace) -> int:
    try:
        config = _config(args)
    except ConfigError as exc:
        print(f"lifecycle-sync: {exc}", file=sys.stderr)
        return 1
    if config is not None and args.state is None:
        args.state = config.service.state_dir
    if args.state is None or not args.state.is_dir():
        print(f"lifecycle-sync: no state directory at {args.state} (give --state or --config)",
              file=sys.stderr)
        return 1
    try:
        report = _report(args, config)
    except SubscriberError as exc:
        print(f"lifecycle-sync: {exc}{_why_no_inbox(args.state)}", file=sys.stderr)
        return 1
    if args.json:
        sys.stdout.write(json.dumps(report) + "\n")
    else:
        sys.stdout.write(render_text(report))
        if "recent" in report:
            sys.stdout.write(render_recent(report["recent"]))
    damaged = (report.get("jobs") or {}).get("damaged")
    if damaged:
        print(f"lifecycle-sync: {damaged}", file=sys.stderr)
        return 1
    return EX_NOT_CONNECTED if not_connected(report, args.max_disconnected_s) else 0


def _config(args: argparse.Namespace) -> Config | None:
    if args.config is None:
        return None
    return load_config(args.config, state_dir=args.state)


def _report(args: argparse.Namespace, config: Config | None) -> dict[str, Any]:
    """The report from the SQLite file, or from PostgreSQL with the failover section."""
    source: ReaderSource = inbox_path(args.state)
    if config is not None and config.inbox.backend == "postgres":
        source = functools.partial(pg_reader, config)
    report = collect_status(args.state, None if isinstance(source, Path) else source)
    if not isinstance(source, Path) and config is not None:
        report["failover"] = failover_report(config, report["daemon_pid"])
        with run_records(config) as store:
            report["jobs"] = jobs_from(store) if store is not None else {}
    if args.recent > 0:
        with open_reader(source) as inbox:
            report["recent"] = recent_entries(inbox, args.recent)
    return report


def _why_no_inbox(state_dir: Path) -> str:
    """The inbox could not be opened: say whether this state directory ever held one."""
    marker = state_dir / IDENTITY_NAME
    if marker.exists() and not inbox_path(state_dir).exists():
        return (f". This state directory held an inbox ({marker} records it): it was lost or "
                "moved. Restore it from a backup; `run` refuses to start without it (exit "
                "78) unless told to start afresh with `run --reset-inbox`")
    if inbox_path(state_dir).exists():
        # There is a file, and it is damaged: the error says so; who created it is moot.
        return (". Restore it from a backup with the daemon stopped (docs/deployment.md, "
                "\"A lost or damaged inbox\")")
    if marker.exists():
        return f" (this state directory's inbox is recorded in {marker})"
    return f" (no daemon has run with --state {state_dir} yet, or it never got that far)"
