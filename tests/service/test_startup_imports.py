"""``lifecycle-sync run`` does not load what it does not use before its stream starts.

Start-up time is measured by ``benchmarks.intake`` (``startup_s``), never asserted here; this
checks the cause: the command line and the daemon's wiring import neither the emulator (only
``lifecycle-sync emulator`` needs it) nor the Sentry SDK while Sentry is off, nor what only the
apply loop and the scheduled jobs use (simple-salesforce with zeep and lxml, APScheduler, the
handlers): the daemon imports those while its intake already runs (service.daemon_parts).
"""

from __future__ import annotations

import json
import subprocess
import sys

from benchmarks.rig import child_env, code_root

LATER = ("emulator", "werkzeug", "sentry_sdk", "simple_salesforce", "zeep", "lxml", "apscheduler",
         "handlers")
PROBE = ("import json, sys; import service.cli, service.wiring; "
         "service.cli.build_parser(['run']); "
         f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({LATER!r}))))")


def test_the_daemons_imports_leave_out_the_emulator_and_sentry() -> None:
    """... and the apply side (simple-salesforce, APScheduler, the handlers): see the module."""
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          env=child_env(), cwd=code_root(), timeout=60, check=True)
    assert json.loads(done.stdout) == []


def test_sentry_off_reports_and_flushes_without_importing_the_sdk() -> None:
    probe = ("import sys; from service import sentry_setup as s; "
             "s.report('apply', 'X', 'm'); s.flush(); "
             "print(s.monitored('j', lambda now: 'ran', {})(None), 'sentry_sdk' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env=child_env(), cwd=code_root(), timeout=60, check=True)
    assert done.stdout.split() == ["ran", "False"]
