"""Intake: ``python -m benchmarks.intake --events 20000 --json``.

The emulator and the daemon run as separate processes (so neither competes with this one for
a GIL); events are published over gRPC ``Publish`` in batches of 200. Two runs, each with a
fresh emulator and state directory:

* **live**: the daemon is up (READY=1) before the first publish; measured from the first
  publish to the commit of the last event in the inbox.
* **backlog**: every event is published first, then the daemon process is started. From the
  moment it is spawned: ``startup_s`` until the first event is committed, ``catchup_s`` until
  the last one is (whole process: interpreter start, imports, login, subscribe, fetch, decode,
  commit). The apply loop runs as in production meanwhile (it claims no new cycle while
  the intake drains the backlog, at most 2 s: :mod:`service.catch_up`). ``startup_cpu_s`` and
  ``backlog_daemon_cpu_s`` are the daemon's CPU seconds at its first commit and at the end:
  on a shared machine they show what a change saved when wall times swing with the load.

"Committed" is the time the daemon stamped on the batch's transaction (the checkpoint's
``updated_at`` and the entries' ``received_at`` are written in the same transaction, which is
committed with ``synchronous=FULL`` before more events are requested). Peak RSS is the
daemon's ``VmHWM``, read before it is stopped. A table, then one JSON line with ``--json``.

``--backend postgres``: the same two runs with the inbox on a throwaway PostgreSQL
(:mod:`benchmarks.pg_backend`), each run on an empty schema of its own.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import InboxReader as SqliteEntries
from benchmarks.common import cpu_s, emit, load_average, machine, work_dir
from benchmarks.pg_backend import (
    Backend,
    PgEntries,
    add_backend_arg,
    backend,
)
from benchmarks.rig import (
    TRIAL_TOPIC,
    Daemon,
    NotifySocket,
    Publisher,
    poll,
    start_emulator_process,
)

PUBLISH_BATCH = 200
KEYS = ("events", "live_seconds", "live_events_per_s", "publish_seconds", "startup_s",
        "startup_cpu_s",
        "catchup_s", "catchup_events_per_s", "backlog_daemon_cpu_s", "live_peak_rss_mb",
        "backlog_peak_rss_mb",
        "load_avg_before", "load_avg_after")


def _commit_times(reader: SqliteEntries | PgEntries) -> tuple[float, float]:
    """(first, last) commit time of the trial topic's entries (epoch seconds)."""
    found = reader.query("SELECT MIN(received_at), MAX(received_at) FROM entries "
                         "WHERE topic = ?", (TRIAL_TOPIC,))
    return float(found[0][0]), float(found[0][1])


def measure(events: int, work: Path, timeout_s: float, backlog: bool,
            store: Backend | None = None) -> dict[str, Any]:
    """One run: emulator + daemon up, publish ``events``, wait for all of them in the inbox.

    Returns ``seconds`` (live: first publish → last commit; backlog: spawn → last commit),
    ``first_s`` (spawn or first publish → first commit) and the daemon's peak RSS."""
    store = store or Backend("sqlite")
    emulator, info_file = start_emulator_process(work / "emulator", work / "emulator.log")
    notify = NotifySocket(work / "notify.sock")
    daemon = Daemon(info_file, work / "state", work / "daemon.log",
                    env={"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "10000000",
                         **store.env})
    publisher = Publisher(json.loads(info_file.read_text()))
    reader = store.entries(work / "state")
    try:
        started, published_s = _start_and_publish(daemon, notify, publisher, events, backlog)
        # CPU the daemon used until its first commit (seen within ~2 ms): unlike startup_s,
        # it barely depends on how loaded the machine is.
        poll(lambda: _stored(reader) > 0, timeout_s, "the first event in the inbox",
             interval_s=0.002)
        first_cpu_s = cpu_s(daemon.pid)
        poll(lambda: _stored(reader) >= events, timeout_s, f"{events} events in the inbox",
             interval_s=0.05)
        first, last = _commit_times(reader)
        stored = _stored(reader)
        peak_rss_mb = daemon.peak_rss_mb()
        daemon_cpu_s = cpu_s(daemon.pid)
        exit_code = daemon.terminate(timeout_s=10.0)
    finally:
        reader.close()
        publisher.close()
        daemon.stop_quietly()
        emulator.terminate()
        emulator.wait(30)
        notify.close()
    return {"seconds": round(last - started, 3), "first_s": round(first - started, 3),
            "last_minus_first_s": round(last - first, 3), "first_cpu_s": first_cpu_s,
            "peak_rss_mb": None if peak_rss_mb is None else round(peak_rss_mb, 1),
            "publish_seconds": round(published_s, 3), "stored": stored, "cpu_s": daemon_cpu_s,
            "daemon_exit_code": exit_code}


def _stored(reader: SqliteEntries | PgEntries) -> int:
    found = reader.query("SELECT COUNT(*) FROM entries WHERE topic = ?", (TRIAL_TOPIC,))
    return int(found[0][0]) if found else 0


def _start_and_publish(daemon: Daemon, notify: NotifySocket, publisher: Publisher, events: int,
                       backlog: bool) -> tuple[float, float]:
    """Start the daemon and publish, in the mode's order; returns (clock start, publish s)."""
    if backlog:
        published_s = _publish(publisher, events)
        started = time.time()  # just before the process is spawned
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


def run(events: int, work: Path, timeout_s: float,
        store: Backend | None = None) -> dict[str, Any]:
    """Both runs, live then backlog (each on an empty inbox), and the combined result."""
    store = store or Backend("sqlite")
    before = load_average()
    live = measure(events, work / "live", timeout_s, backlog=False, store=store.fresh())
    backlog = measure(events, work / "backlog", timeout_s, backlog=True, store=store.fresh())
    return {
        "events": events, "live_seconds": live["seconds"],
        "live_events_per_s": round(events / live["seconds"], 1),
        "publish_seconds": live["publish_seconds"],
        "startup_s": backlog["first_s"], "startup_cpu_s": backlog["first_cpu_s"],
        "catchup_s": backlog["seconds"],
        "catchup_events_per_s": round(events / backlog["last_minus_first_s"], 1),
        "live_peak_rss_mb": live["peak_rss_mb"], "backlog_peak_rss_mb": backlog["peak_rss_mb"],
        "backlog_daemon_cpu_s": backlog["cpu_s"],
        "stored": [live["stored"], backlog["stored"]],
        "daemon_exit_codes": [live["daemon_exit_code"], backlog["daemon_exit_code"]],
        "load_avg_before": before, "load_avg_after": load_average(), "machine": machine(),
        "backend": store.name,
        "goals": {"startup_s_le_0.5": backlog["first_s"] <= 0.5,
                  "catchup_s_le_1.2": backlog["seconds"] <= 1.2},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.intake", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20000, help="events to publish per run")
    parser.add_argument("--json", action="store_true",
                        help="end with one JSON line (the table is printed first either way)")
    parser.add_argument("--timeout-s", type=float, default=600.0,
                        help="give up if the inbox is not complete after this long")
    parser.add_argument("--keep", type=Path, default=None,
                        help="work in this directory and keep it (logs, inbox) for inspection")
    add_backend_arg(parser)
    args = parser.parse_args(argv)
    with backend(args.backend) as store, work_dir(args.keep, "lifecycle-sync-bench-") as work:
        result = run(args.events, work, args.timeout_s, store)
    emit(result, KEYS, args.json)
    ok = result["stored"] == [args.events] * 2 and result["daemon_exit_codes"] == [0, 0]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
