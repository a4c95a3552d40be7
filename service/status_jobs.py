"""The scheduler's run records as ``status`` shows them: each job's last run, result and next
run, from ``STATE/jobs.db`` or (PostgreSQL inbox) the shared tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scheduler.runs import DamagedJobsFile, RunLog, RunStore, jobs_path
from scheduler.settings import JOB_NAMES


def jobs_report(state_dir: Path) -> dict[str, Any]:
    """Each scheduled job's last run, result and next run, from ``STATE/jobs.db``."""
    path = jobs_path(state_dir)
    if not path.exists():
        return {}
    try:
        store = RunStore(path, readonly=True)
    except DamagedJobsFile as exc:  # said clearly, exit 1; the rest of the status still shows
        return {"damaged": str(exc)}
    try:
        return jobs_from(store)
    finally:
        store.close()


def jobs_from(store: RunLog) -> dict[str, Any]:
    """Each job's last run, result and next run as the report shows it."""
    out = {}
    for name in JOB_NAMES:
        st = store.state(name)
        out[name] = {
            "last_run": st.last_started_at.isoformat(timespec="seconds")
            if st.last_started_at else None,
            "result": st.last_result, "summary": st.last_summary, "runs": st.runs,
            "failures": st.failures,
            "next_run": st.next_run_at.isoformat(timespec="seconds")
            if st.next_run_at else None}
    return out
