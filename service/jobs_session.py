"""``jobs run`` and ``forget`` in this process, with the state lock already held."""

from __future__ import annotations

import datetime as dt

from scheduler.erasure import ErasureReport, forget
from scheduler.runner import RunOutcome
from service.config import Config, inbox_path
from service.connections import session_provider
from service.jobs_wiring import job_runner, open_runs, salesforce
from service.state_guard import open_inbox


def run_job(config: Config, name: str) -> RunOutcome:
    inbox = open_inbox(config.service.state_dir,
                       retention_s=config.inbox.retention_days * 86400.0)
    runs = open_runs(config.service.state_dir)
    try:
        return job_runner(config, session_provider(config), inbox, runs).run(name)
    finally:
        runs.close()
        inbox.close()


def run_forget(config: Config, email: str) -> ErasureReport:
    runs = open_runs(config.service.state_dir)
    try:
        sf = salesforce(config, session_provider(config))
        return forget(email, inbox_path(config.service.state_dir), sf, runs,
                      dt.datetime.now(dt.UTC))
    finally:
        runs.close()
