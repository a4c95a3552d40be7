"""``lifecycle-sync status``: where each topic stands, read safely beside a running daemon.

The inbox is opened read-only (SQLite ``mode=ro``), and whether a daemon runs is read from
``/proc/locks`` rather than by testing the lock, so ``status`` can never block the daemon,
make a starting daemon think it is the second instance, or write to its state.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from service.config import inbox_path
from service.lifecycle import lock_holder
from subscriber.errors import SubscriberError
from subscriber.inbox import Inbox


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``status``."""
    p = sub.add_parser(
        "status", help="show checkpoints and inbox counts per topic (safe while running)",
        description="Per topic: the checkpoint (replay ID in hex) and when it was written, the "
                    "inbox counts by state (pending, applied, poison) and the age of the oldest "
                    "pending entry. Reads the state directory read-only.",
    )
    p.add_argument("--state", type=Path, required=True, metavar="DIR", help="state directory")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object on stdout instead of text")
    p.set_defaults(func=_status)


def collect_status(state_dir: Path) -> dict[str, Any]:
    """The status report as plain JSON-ready values; raises SubscriberError if no inbox."""
    path = inbox_path(state_dir)
    with Inbox.open_readonly(path) as inbox:
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
            }
        apply = _apply_state(inbox)
    return {"state_dir": str(state_dir), "inbox": str(path),
            "daemon_pid": lock_holder(state_dir), "topics": topics, "apply": apply}


def _apply_state(inbox: Inbox) -> dict[str, Any]:
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
    a = report.get("apply")
    if a:
        paused = ", PAUSED (API limit)" if a["paused"] else ""
        last = a["last_error_class"] or "none"
        lines.append(f"apply: applied {a['applied']}, parked {a['parked']}, waiting "
                     f"{a['waiting']}{paused}, last error class: {last}")
    return "\n".join(lines) + "\n"


def _status(args: argparse.Namespace) -> int:
    if not args.state.is_dir():
        print(f"lifecycle-sync: no state directory at {args.state}", file=sys.stderr)
        return 1
    try:
        report = collect_status(args.state)
    except SubscriberError as exc:
        print(f"lifecycle-sync: {exc} (has the daemon run with --state {args.state}?)",
              file=sys.stderr)
        return 1
    if args.json:
        sys.stdout.write(json.dumps(report) + "\n")
    else:
        sys.stdout.write(render_text(report))
    return 0
