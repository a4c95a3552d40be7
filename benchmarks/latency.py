"""Publish-to-applied latency of single events: ``python -m benchmarks.latency --json``.

The emulator runs as its own process with no added latency (``--latency-ms 0``, the default
here), the daemon as a subprocess. After one warm-up event (login, subscription, first
queries), events from the burst mix (:mod:`benchmarks.burst_events`, malformed ones left out)
are published one at a time over gRPC ``Publish``; the next is published only once the
previous one is applied. Latency is the event's ``applied_at`` in the inbox (stamped by the
daemon in the transaction that marks it) minus the time just before its ``Publish`` request:
intake, the apply loop's wake-up, the rules and every Salesforce call of the cycle. A table,
then one JSON line with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from benchmarks.burst_events import mix
from benchmarks.common import EventPublisher, InboxReader, emit, load_average, machine, work_dir
from benchmarks.rig import Daemon, NotifySocket, poll, start_emulator_process_with

KEYS = ("events", "p50_ms", "p90_ms", "p99_ms", "max_ms", "mean_ms", "latency_ms",
        "load_avg_before", "load_avg_after")


def measure(events: int, latency_ms: float, work: Path, timeout_s: float) -> dict[str, Any]:
    emulator, info_file = start_emulator_process_with(
        work / "emulator", work / "emulator.log", ["--latency-ms", str(latency_ms)])
    info = json.loads(info_file.read_text())
    notify = NotifySocket(work / "notify.sock")
    daemon = Daemon(info_file, work / "state", work / "daemon.log", auth="jwt",
                    env={"NOTIFY_SOCKET": str(notify.path)})
    publisher = EventPublisher(info)
    reader = InboxReader(work / "state")
    try:
        daemon.start()
        poll(lambda: notify.seen("READY=1"), 60, "the daemon to report READY=1")
        singles = [e for e in mix(events * 2 + 10, info["user_id"]) if e.valid][:events + 1]
        latencies: list[float] = []
        for n, event in enumerate(singles):
            publisher.publish([event])
            applied = _wait_applied(reader, event.event_id, timeout_s)
            if n:  # the first one warms up: login, subscription, converted status
                latencies.append((applied - publisher.sent[event.event_id]) * 1000)
        exit_code = daemon.terminate(timeout_s=15.0)
    finally:
        reader.close()
        publisher.close()
        daemon.stop_quietly()
        notify.close()
        emulator.terminate()
        emulator.wait(30)
    return _result(sorted(latencies), latency_ms, exit_code)


def _wait_applied(reader: InboxReader, event_id: str, timeout_s: float) -> float:
    """When the daemon applied ``event_id`` (polled every 2 ms; the time is the daemon's)."""
    found: float = poll(lambda: reader.applied_at([event_id]).get(event_id), timeout_s,
                        "the event to be applied", interval_s=0.002)
    return found


def _result(latencies: list[float], latency_ms: float, exit_code: int) -> dict[str, Any]:
    def at(fraction: float) -> float:
        return round(latencies[int(fraction * (len(latencies) - 1))], 1)

    return {"events": len(latencies), "p50_ms": round(statistics.median(latencies), 1),
            "p90_ms": at(0.9), "p99_ms": at(0.99), "max_ms": round(latencies[-1], 1),
            "mean_ms": round(statistics.fmean(latencies), 1), "latency_ms": latency_ms,
            "daemon_exit_code": exit_code}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.latency", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=300, help="events measured (after one "
                        "warm-up event)")
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="latency the emulator adds to every REST/SOAP request")
    parser.add_argument("--json", action="store_true",
                        help="end with one JSON line (the table is printed first either way)")
    parser.add_argument("--timeout-s", type=float, default=60.0,
                        help="give up when one event is not applied after this long")
    parser.add_argument("--keep", type=Path, default=None, help="keep the work directory here")
    args = parser.parse_args(argv)
    before = load_average()
    with work_dir(args.keep, "lifecycle-sync-latency-") as work:
        result = measure(args.events, args.latency_ms, work, args.timeout_s)
    result.update(load_avg_before=before, load_avg_after=load_average(), machine=machine(),
                  goals={"p50_ms_le_50": result["p50_ms"] <= 50,
                         "p99_ms_le_150": result["p99_ms"] <= 150})
    emit(result, KEYS, args.json)
    return 0 if result["daemon_exit_code"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
