"""Emulator latency: ``python -m benchmarks.emulator --records 100000 --json``.

The emulator must never be what a benchmark of the daemon measures. For each org size (a
tenth of ``--records``, then ``--records``: that many Leads and Workspace__c, a tenth as many
Accounts, seeded in bulk straight into ``org.db``) the emulator runs in its own process and
each operation below is timed through the real HTTPS path a daemon uses (requests over TLS,
keep-alive, JSON), ``--samples`` times after two warm-up calls:

* ``create_200``: sObject Collections create of 200 Leads;
* ``upsert_200``: Collections upsert of 200 Workspace__c by external ID (100 new, 100 existing);
* ``update_200``: Collections update of 200 Leads by Id;
* ``in_query_200``: ``SELECT … FROM Lead WHERE Email IN (200 values)``;
* ``composite_5_queries``: one Composite request holding five IN queries of 40 values;
* ``convert_100``: one SOAP ``convertLead`` of 100 Leads.

It prints a table (median and p99 in ms per size, the ratio largest/smallest median) and then,
with ``--json``, one JSON object as the last line. Goals (issue 13, on 2 cores): at the
largest size an ``IN`` query at most 10 ms median, each 200-record write at most 40 ms median,
every median within 25 % from the smallest size to the largest.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.emulator_ops import CONVERT_BATCH, Client, Operations
from benchmarks.emulator_seed import seed_state
from benchmarks.rig import start_emulator_process

OPERATIONS = ("in_query_200", "composite_5_queries", "update_200", "upsert_200", "create_200",
              "convert_100")
WRITES = ("create_200", "upsert_200", "update_200")
QUERY_GOAL_MS, WRITE_GOAL_MS, FLAT_RATIO = 10.0, 40.0, 1.25
WARM_UP = 2


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest sample with ``fraction`` of samples at or below."""
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * fraction // 1))
    return ordered[int(rank) - 1]


def measure_size(records: int, samples: int, work: Path) -> dict[str, Any]:
    """Seed an org of ``records``, start the emulator on it and time every operation."""
    seeded = seed_state(work / "emulator", records)
    started = time.perf_counter()
    proc, info_file = start_emulator_process(work / "emulator", work / "emulator.log")
    try:
        info = json.loads(info_file.read_text())
        startup_s = time.perf_counter() - started
        with contextlib.closing(Client(info)) as client:
            ops = Operations(client, seeded)
            operations = {name: _time_operation(ops, name, samples, proc.pid)
                          for name in OPERATIONS}
        rss_mb = _rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(60)
    return {"seed_s": round(seeded.seconds, 2), "startup_s": round(startup_s, 2),
            "emulator_rss_mb": rss_mb, "operations": operations}


def _time_operation(ops: Operations, name: str, samples: int, pid: int) -> dict[str, float]:
    """Median and p99 wall-clock latency of ``name``, and the emulator's CPU per call."""
    for _ in range(WARM_UP):
        ops.timed(name)
    cpu_before = _cpu_s(pid)
    latencies = [ops.timed(name) for _ in range(samples)]
    cpu_ms = (_cpu_s(pid) - cpu_before) * 1000 / samples
    return {"median_ms": round(statistics.median(latencies), 2),
            "p99_ms": round(percentile(latencies, 0.99), 2),
            "emulator_cpu_ms": round(cpu_ms, 2)}


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds the process has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def best_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One run's figures per operation: those of the run with the lowest median (a shared
    machine's load only ever adds time)."""
    best = dict(runs[0])
    best["operations"] = {
        name: min((r["operations"][name] for r in runs), key=lambda o: o["median_ms"])
        for name in OPERATIONS}
    return best


def _rss_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def summarise(sizes: list[int], runs: dict[int, dict[str, Any]], samples: int, best_of_runs: int
              ) -> dict[str, Any]:
    """The JSON result: per operation and size median/p99, the flatness ratio, goals met."""
    small, large = runs[sizes[0]]["operations"], runs[sizes[-1]]["operations"]
    operations: dict[str, Any] = {}
    for name in OPERATIONS:
        entry: dict[str, Any] = {str(n): runs[n]["operations"][name] for n in sizes}
        entry["ratio"] = round(large[name]["median_ms"] / small[name]["median_ms"], 2)
        operations[name] = entry
    goals = {
        "in_query_200_median_ms_le_10": large["in_query_200"]["median_ms"] <= QUERY_GOAL_MS,
        "writes_median_ms_le_40": all(large[w]["median_ms"] <= WRITE_GOAL_MS for w in WRITES),
        "flat_within_25_percent": all(o["ratio"] <= FLAT_RATIO for o in operations.values()),
    }
    return {
        "records": sizes, "samples": samples, "best_of_runs": best_of_runs,
        "operations": operations, "goals_met": goals,
        "seed_s": {str(n): runs[n]["seed_s"] for n in sizes},
        "startup_s": {str(n): runs[n]["startup_s"] for n in sizes},
        "emulator_rss_mb": {str(n): runs[n]["emulator_rss_mb"] for n in sizes},
    }


def table(result: dict[str, Any]) -> str:
    """Median, p99 and emulator CPU per call (ms) for each size, and the medians' ratio."""
    sizes = result["records"]
    head = f"{'operation':<20}" + "".join(
        f"{f'{n:,} median':>15}{'p99':>8}{'cpu':>7}" for n in sizes) + f"{'ratio':>7}"
    lines = [head, "-" * len(head)]
    for name, entry in result["operations"].items():
        cells = "".join(f"{e['median_ms']:>15.2f}{e['p99_ms']:>8.1f}{e['emulator_cpu_ms']:>7.1f}"
                        for e in (entry[str(n)] for n in sizes))
        lines.append(f"{name:<20}{cells}{entry['ratio']:>7.2f}")
    lines.append(f"(ms; {result['samples']} calls each after {WARM_UP} warm-up calls; best of "
                 f"{result['best_of_runs']} run(s); cpu = emulator process CPU per call)")
    lines.append(f"seed s {result['seed_s']}, startup s {result['startup_s']}, "
                 f"RSS MiB {result['emulator_rss_mb']}")
    lines.append(f"goals met: {result['goals_met']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.emulator", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000,
                        help="largest org size (Leads and Workspaces each); a tenth is run too")
    parser.add_argument("--samples", type=int, default=30, help="timed calls per operation")
    parser.add_argument("--runs", type=int, default=1,
                        help="fresh orgs per size; each operation reports its best run")
    parser.add_argument("--json", action="store_true",
                        help="after the table, print one JSON object as the last line")
    args = parser.parse_args(argv)
    sizes = sorted({args.records // 10, args.records})
    needed = (args.samples + WARM_UP) * CONVERT_BATCH * 2
    if sizes[0] < needed:
        parser.error(f"--records {args.records}: the smaller org ({sizes[0]}) needs at least "
                     f"{needed} Leads for {args.samples} samples of convertLead and updates")
    runs: dict[int, dict[str, Any]] = {}
    for records in sizes:
        with tempfile.TemporaryDirectory(prefix="lifecycle-sync-emubench-") as tmp:
            runs[records] = best_of([measure_size(records, args.samples, Path(tmp) / str(n))
                                     for n in range(args.runs)])
    result = summarise(sizes, runs, args.samples, args.runs)
    print(table(result), flush=True)
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
