"""Which inbox the daemon talks to: the only place that knows ``inbox.backend``.

``sqlite`` (default): the file in the state directory, checked against its recorded identity
(:mod:`service.state_guard`). ``postgres``: the shared database named by ``inbox.dsn``, its
schema checked (never changed: that is ``db upgrade``), refused behind a transaction-mode
pooler, every write fenced by the deployment's lease.

Readers (status, metrics, health) get an :data:`ReaderSource`: a path for SQLite (each read
opens the file read-only, safe beside the daemon), or a function returning a context manager
for PostgreSQL (the pooled inbox itself, which reads without a fence).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

from scheduler.runs import RunLog, RunStore, jobs_path
from service.config import Config
from service.state_guard import open_inbox
from subscriber.inbox import Inbox
from subscriber.inbox_api import InboxReader, InboxStore

ReaderSource = Path | Callable[[], AbstractContextManager[InboxReader]]


def open_reader(source: ReaderSource) -> AbstractContextManager[InboxReader]:
    """A reader for one look (closed afterwards for SQLite; the shared pool for PostgreSQL)."""
    if isinstance(source, Path):
        return Inbox.open_readonly(source)
    return source()

# What ``status`` shows of Sentry and metrics, written by the daemon at start (service.wiring).
OPS_KEY = "ops:observability"

def readers_of(inbox: InboxStore) -> ReaderSource:
    """How the daemon's readers reach ``inbox``."""
    if isinstance(inbox, Inbox):
        return inbox.path
    return lambda: contextlib.nullcontext(inbox)


def is_postgres(config: Config) -> bool:
    return config.inbox.backend == "postgres"


def retention_s(config: Config) -> float:
    return config.inbox.retention_days * 86400.0


def missing_extra(exc: ImportError) -> str:
    """What to say when ``backend = "postgres"`` meets an install without psycopg."""
    return (f'inbox.backend = "postgres" needs the postgres extra (psycopg 3 and its pool): '
            f"pip install 'lifecycle-sync[postgres]' ({exc})")


class ActiveElsewhere(Exception):
    """A command that writes the inbox (``replay``, ``jobs run``, ``forget``) found a daemon
    active on the shared PostgreSQL inbox: it must not write beside it."""


@contextlib.contextmanager
def held_inbox(config: Config) -> Iterator[InboxStore]:
    """The inbox for a command that writes it while no daemon runs: the state directory's
    file (the caller holds the state lock), or the PostgreSQL inbox with the lease taken for
    the command's duration (:class:`ActiveElsewhere` when a daemon holds it)."""
    if not is_postgres(config):
        with open_inbox(config.service.state_dir, retention_s=retention_s(config)) as inbox:
            yield inbox
        return
    from service.failover_run import leased_inbox

    with leased_inbox(config) as pg:
        yield pg


@contextlib.contextmanager
def run_records(config: Config) -> Iterator[RunLog | None]:
    """The scheduler's run records for reading (``jobs list``, ``status``): ``jobs.db`` when
    it exists (None otherwise), or the PostgreSQL tables."""
    if not is_postgres(config):
        path = jobs_path(config.service.state_dir)
        store = RunStore(path, readonly=True) if path.exists() else None
        try:
            yield store
        finally:
            if store is not None:
                store.close()
        return
    from scheduler.runs_pg import PgRunStore
    from subscriber.pg_connect import open_pool

    pool = open_pool(config.inbox.dsn, max_size=1)
    try:
        yield PgRunStore(pool, config.service.state_dir, None)
    finally:
        pool.close()
