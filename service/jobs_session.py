"""``jobs run`` and ``forget`` in this process, with the state lock already held."""

from __future__ import annotations

import datetime as dt

from scheduler.erasure import ErasureReport, forget
from scheduler.job_inbox import InboxPlace
from scheduler.runner import RunOutcome
from scheduler.runs import RunLog
from service.config import Config, inbox_path
from service.connections import session_provider
from service.inbox_backend import held_inbox, is_postgres
from service.jobs_wiring import job_runner, open_runs, place_of, salesforce
from subscriber.inbox_api import InboxStore


def run_job(config: Config, name: str) -> RunOutcome:
    with held_inbox(config) as inbox:
        runs = open_runs(config.service.state_dir, inbox)
        try:
            return job_runner(config, session_provider(config), inbox, runs).run(name)
        finally:
            runs.close()


def run_forget(config: Config, email: str) -> ErasureReport:
    if is_postgres(config):  # the shared inbox, under the lease like a daemon's writes
        with held_inbox(config) as inbox:
            return _forget(config, email, place_of(inbox), open_runs(
                config.service.state_dir, inbox), inbox)
    return _forget(config, email, inbox_path(config.service.state_dir),
                   open_runs(config.service.state_dir))


def _forget(config: Config, email: str, place: InboxPlace, runs: RunLog,
            inbox: InboxStore | None = None) -> ErasureReport:
    """``inbox``: the leased PostgreSQL inbox, whose lease fences each Salesforce request."""
    try:
        sf = salesforce(config, session_provider(config), inbox)
        return forget(email, place, sf, runs, dt.datetime.now(dt.UTC))
    finally:
        runs.close()
