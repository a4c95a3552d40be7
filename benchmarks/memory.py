"""The daemon's memory applying a backlog: ``python -m benchmarks.memory --json``.

For each size (default 10,000 and 100,000 events): a fresh emulator (its own process, no
added latency) and state directory; the burst mix (:mod:`benchmarks.burst_events`) is
published first, then the daemon is started and runs until every event is applied or parked.
Reported per size: the daemon's peak RSS (``VmHWM``), its RSS at the end, how long applying
took, and the ratio of the largest size's peak to the smallest's. Flow control (the intake asks
for at most ``pubsub.batch_size`` events at a time and commits them before asking again) and
batching (apply reads at most three batches of pending entries per claim) bound every buffer,
so the peak must not grow with the backlog. A table, then one JSON line with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.burst_events import mix
from benchmarks.common import (
    EventPublisher,
    InboxReader,
    emit,
    load_average,
    machine,
    wait_settled,
    work_dir,
)
from benchmarks.rig import Daemon, start_emulator_process_with

FLAT_WITHIN = 0.10
KEYS = ("sizes", "peak_rss_mb", "end_rss_mb", "apply_seconds", "peak_ratio",
        "load_avg_before", "load_avg_after")


def _rss_mb(pid: int, field: str) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith(field + ":"):
            return round(int(line.split()[1]) / 1024.0, 1)
    return None


def measure(events: int, work: Path, timeout_s: float) -> dict[str, Any]:
    """One size: backlog published, daemon started, everything applied; RSS read."""
    emulator, info_file = start_emulator_process_with(
        work / "emulator", work / "emulator.log", ["--latency-ms", "0"])
    info = json.loads(info_file.read_text())
    daemon = Daemon(info_file, work / "state", work / "daemon.log", auth="jwt")
    publisher = EventPublisher(info)
    reader = InboxReader(work / "state")
    try:
        publisher.publish(mix(events, info["user_id"]))
        started = time.monotonic()
        daemon.start()
        wait_settled(reader, events, timeout_s, interval_s=0.25)
        seconds = time.monotonic() - started
        peak, end = _rss_mb(daemon.pid, "VmHWM"), _rss_mb(daemon.pid, "VmRSS")
        exit_code = daemon.terminate(timeout_s=15.0)
    finally:
        reader.close()
        publisher.close()
        daemon.stop_quietly()
        emulator.terminate()
        emulator.wait(30)
    return {"events": events, "peak_rss_mb": peak, "end_rss_mb": end,
            "apply_seconds": round(seconds, 1), "daemon_exit_code": exit_code}


def run(sizes: list[int], work: Path, timeout_s: float) -> dict[str, Any]:
    before = load_average()
    runs = [measure(n, work / str(n), timeout_s) for n in sizes]
    peaks = [r["peak_rss_mb"] or 0.0 for r in runs]
    ratio = round(peaks[-1] / peaks[0], 3) if peaks[0] else None
    return {
        "sizes": sizes, "peak_rss_mb": peaks, "end_rss_mb": [r["end_rss_mb"] for r in runs],
        "apply_seconds": [r["apply_seconds"] for r in runs], "peak_ratio": ratio,
        "daemon_exit_codes": [r["daemon_exit_code"] for r in runs],
        "load_avg_before": before, "load_avg_after": load_average(), "machine": machine(),
        "goals": {"peak_rss_mb_le_100": max(peaks) <= 100,
                  "flat_within_10_percent": ratio is not None
                  and abs(ratio - 1) <= FLAT_WITHIN},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000],
                        help="backlog sizes, smallest first (default: 10000 100000)")
    parser.add_argument("--json", action="store_true",
                        help="end with one JSON line (the table is printed first either way)")
    parser.add_argument("--timeout-s", type=float, default=600.0,
                        help="give up when a backlog is not applied after this long")
    parser.add_argument("--keep", type=Path, default=None, help="keep the work directory here")
    args = parser.parse_args(argv)
    with work_dir(args.keep, "lifecycle-sync-memory-") as work:
        result = run(args.sizes, work, args.timeout_s)
    emit(result, KEYS, args.json)
    return 0 if result["daemon_exit_codes"] == [0] * len(args.sizes) else 1


if __name__ == "__main__":
    sys.exit(main())
