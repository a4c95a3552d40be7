"""Intake throughput: ``python -m benchmarks.intake --events 20000 --json``.

Starts the emulator and the daemon as separate processes (so neither competes with this one
for a GIL), publishes the events over gRPC ``Publish`` in batches of 200 and measures from the
first publish to the commit of the last event in the daemon's inbox (the checkpoint's
``updated_at``, written in the same transaction). Peak RSS is the daemon's ``VmHWM``, read
before it is stopped. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.pg_backend import Backend, add_backend_arg, backend
from benchmarks.rig import (
    TRIAL_TOPIC,
    Daemon,
    NotifySocket,
    Publisher,
    poll,
    start_emulator_process,
)

PUBLISH_BATCH = 200


def _stored(store: Backend, state: Path, topic: str) -> int:
    if not store.exists(state):
        return 0
    with store.reader(state) as inbox:
        counts = inbox.counts_by_topic().get(topic)
    return 0 if counts is None else counts.pending + counts.applied + counts.poison


def _last_commit_time(store: Backend, state: Path, topic: str) -> float:
    with store.reader(state) as inbox:
        written_at = inbox.checkpoint(topic).updated_at
    assert written_at is not None
    return written_at.timestamp()


def measure(events: int, work: Path, timeout_s: float, backlog: bool,
            store: Backend | None = None) -> dict[str, Any]:
    """One run: emulator + daemon up, publish ``events``, wait for all of them in the inbox.

    With ``backlog`` the events are published first and the clock starts when the daemon
    does: catch-up speed after an outage, free of the publisher's pace.
    """
    store = store or Backend("sqlite")
    emulator, info_file = start_emulator_process(work / "emulator", work / "emulator.log")
    notify = NotifySocket(work / "notify.sock")
    daemon = Daemon(info_file, work / "state", work / "daemon.log",
                    env={"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "10000000",
                         **store.env})
    publisher = Publisher(json.loads(info_file.read_text()))
    try:
        started, published_s = _start_and_publish(daemon, notify, publisher, events, backlog)
        poll(lambda: _stored(store, work / "state", TRIAL_TOPIC) >= events, timeout_s,
             f"{events} events in the inbox", interval_s=0.05)
        seconds = _last_commit_time(store, work / "state", TRIAL_TOPIC) - started
        peak_rss_mb = daemon.peak_rss_mb()
        exit_code = daemon.terminate(timeout_s=10.0)
    finally:
        publisher.close()
        daemon.stop_quietly()
        emulator.terminate()
        emulator.wait(30)
        notify.close()
    return {
        "events": events, "seconds": round(seconds, 3),
        "events_per_s": round(events / seconds, 1),
        "peak_rss_mb": None if peak_rss_mb is None else round(peak_rss_mb, 1),
        "publish_seconds": round(published_s, 3), "mode": "backlog" if backlog else "live",
        "daemon_exit_code": exit_code,
        "stored": _stored(store, work / "state", TRIAL_TOPIC), "backend": store.name,
    }


def _start_and_publish(daemon: Daemon, notify: NotifySocket, publisher: Publisher, events: int,
                       backlog: bool) -> tuple[float, float]:
    """Start the daemon and publish, in the mode's order; returns (clock start, publish s)."""
    if backlog:
        published_s = _publish(publisher, events)
        started = time.time()
        daemon.start()
        return started, published_s
    daemon.start()
    poll(lambda: notify.seen("READY=1"), 60, "the daemon to report READY=1")
    started = time.time()
    return started, _publish(publisher, events)


def _publish(publisher: Publisher, events: int) -> float:
    """Publish in batches of PUBLISH_BATCH; returns the seconds it took."""
    started = time.time()
    for sent in range(0, events, PUBLISH_BATCH):
        publisher.publish(min(PUBLISH_BATCH, events - sent))
    return time.time() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.intake", description=__doc__)
    parser.add_argument("--events", type=int, default=20000, help="events to publish")
    parser.add_argument("--json", action="store_true", help="print only the JSON result line")
    parser.add_argument("--timeout-s", type=float, default=600.0,
                        help="give up if the inbox is not complete after this long")
    parser.add_argument("--keep", type=Path, default=None,
                        help="work in this directory and keep it (logs, inbox) for inspection")
    parser.add_argument("--backlog", action="store_true",
                        help="publish everything first, then time the daemon catching up")
    add_backend_arg(parser)
    args = parser.parse_args(argv)
    with backend(args.backend) as store:
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            result = measure(args.events, args.keep, args.timeout_s, args.backlog, store)
        else:
            with tempfile.TemporaryDirectory(prefix="lifecycle-sync-bench-") as tmp:
                result = measure(args.events, Path(tmp), args.timeout_s, args.backlog, store)
    if not args.json:
        print(f"{result['events']} events in {result['seconds']} s "
              f"({result['events_per_s']} events/s), daemon peak RSS "
              f"{result['peak_rss_mb']} MiB", file=sys.stderr)
    print(json.dumps(result))
    return 0 if result["stored"] == args.events and result["daemon_exit_code"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
