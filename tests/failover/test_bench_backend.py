"""``--backend postgres`` on the benchmarks: the same measurement on a throwaway PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from benchmarks.pg_server import find_bindir
from benchmarks.rig import child_env, code_root


@pytest.mark.skipif(find_bindir() is None, reason="no PostgreSQL binaries (initdb, pg_ctl)")
@pytest.mark.parametrize("bench", ["intake", "burst"])
def test_a_benchmark_runs_on_postgres(bench: str) -> None:
    done = subprocess.run([sys.executable, "-m", f"benchmarks.{bench}", "--events", "200",
                           "--json", "--backend", "postgres"], capture_output=True, text=True,
                          env=child_env({}), cwd=code_root(), timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["backend"] == "postgres"
    # intake: one count per run (live, then backlog, each on an empty inbox)
    assert result.get("stored", result.get("events")) == ([200, 200] if bench == "intake"
                                                          else 200)
    assert result.get("lost", 0) == 0
