"""How long ``SIGTERM`` takes to stop the daemon: ``python -m benchmarks.shutdown --json``.

The tests only check the README's 10 s deadline and that stopping never waits on the network
(causally: the daemon exits while its login is still held); how fast it actually stops is
measured here, on this machine, instead of being asserted in a timed test. Two cases, each
``--rounds`` times: a daemon streaming events, and a daemon whose JWT login is stuck in a 25 s
HTTP request (the emulator's ``latency_ms``). Prints a table, then with ``--json`` one JSON
object as the last line, like every benchmark.
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import emit, load_average, machine
from benchmarks.rig import Daemon, NotifySocket, Publisher, poll
from emulator.server import Emulator, EmulatorSettings


def _stop_time_s(daemon: Daemon) -> float:
    started = time.monotonic()
    daemon.signal(signal.SIGTERM)
    code = daemon.wait(60)
    if code != 0:
        raise RuntimeError(f"exit code {code}: {daemon.log_text()[-2000:]}")
    return time.monotonic() - started


def _one(work: Path, latency_ms: float) -> float:
    with Emulator(EmulatorSettings(state_dir=work / "emu", latency_ms=latency_ms)) as emu:
        info_file = work / "info.json"
        emu.write_info(info_file)
        notify = NotifySocket(work / "notify.sock")
        daemon = Daemon(info_file, work / "state", work / "daemon.log", auth="jwt",
                        env={"NOTIFY_SOCKET": str(notify.path)}).start()
        try:
            if latency_ms:  # the login is in flight for latency_ms: stop during it
                poll(lambda: "intake running" in daemon.log_text(), 60, "the intake to start")
            else:
                poll(lambda: notify.seen("READY=1"), 60, "READY=1")
                publisher = Publisher(json.loads(info_file.read_text()))
                publisher.publish(500)
                publisher.close()
            return _stop_time_s(daemon)
        finally:
            daemon.stop_quietly()
            notify.close()


def measure(rounds: int) -> dict[str, Any]:
    """Median and max SIGTERM-to-exit seconds per case, over ``rounds`` fresh daemons."""
    result: dict[str, Any] = {"rounds": rounds}
    for name, latency_ms in (("streaming", 0.0), ("login_in_flight", 25_000.0)):
        times = []
        for n in range(rounds):
            with tempfile.TemporaryDirectory(prefix="ls-") as tmp:
                times.append(_one(Path(tmp) / str(n), latency_ms))
        result[f"sigterm_to_exit_s_{name}"] = {"max": round(max(times), 3),
                                               "median": round(statistics.median(times), 3)}
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.shutdown", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="daemons stopped per case")
    parser.add_argument("--json", action="store_true",
                        help="end with one JSON line (the table is printed first either way)")
    args = parser.parse_args(argv)
    before = load_average()
    result = measure(args.rounds)
    result.update(load_avg_before=before, load_avg_after=load_average(), machine=machine())
    emit(result, [k for k in result if k != "machine"], args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
