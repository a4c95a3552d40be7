"""Child Python processes for tests: a scrubbed environment and the code this process runs.

Every child gets only what :func:`benchmarks.rig.child_env` keeps (PATH, HOME, ... and
mutmut's switch) plus what the test sets, and runs from :func:`benchmarks.rig.code_root`, so a
developer's exported ``LIFECYCLE_SYNC_*`` cannot change a result and, under ``make mutate``,
the child runs the same mutated copy as the test process.

During mutmut's stats run (``MUTANT_UNDER_TEST=stats``) a child is started through
``mutmut_child.py``, which writes the product functions it executed to ``MUTMUT_CHILD_HITS``;
:func:`merge_child_hits` (called from the root conftest after each test) credits them to the
test, so mutants reached only inside a daemon subprocess still get tests selected.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.rig import child_env, code_root

SHIM = Path(__file__).with_name("mutmut_child.py")
HITS_ENV = "MUTMUT_CHILD_HITS"


def collecting_stats() -> bool:
    return os.environ.get("MUTANT_UNDER_TEST") == "stats" and HITS_ENV in os.environ


def module_argv(module: str, *args: str) -> list[str]:
    """``python -m module args`` (through the stats shim while mutmut collects stats)."""
    if collecting_stats():
        return [sys.executable, str(SHIM), module, *args]
    return [sys.executable, "-m", module, *args]


def run_cli(*args: str, env: dict[str, str] | None = None, timeout_s: float = 60.0,
            **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """``lifecycle-sync ARGS`` as a child process; output captured as text, never raises on
    a non-zero exit (the tests assert on it)."""
    kwargs.setdefault("cwd", code_root())
    return subprocess.run(module_argv("service", *args), capture_output=True, text=True,
                          env=child_env(env), timeout=timeout_s, check=False, **kwargs)


def merge_child_hits() -> None:
    """Credit functions that finished children executed to the current test (stats run)."""
    if not collecting_stats():
        return
    from mutmut.state import state

    for path in Path(os.environ[HITS_ENV]).glob("*.json"):
        try:
            names = json.loads(path.read_text())
        except ValueError:  # a child still writing it: taken at the next test
            continue
        state()._stats.update(names)
        path.unlink()
