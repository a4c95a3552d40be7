"""``lifecycle-sync db upgrade``: create or upgrade the PostgreSQL inbox's schema, explicitly.

The daemons sharing a PostgreSQL inbox never change its schema on start (a rolling upgrade
would otherwise have an old daemon meet a newer schema mid-run); ``run`` refuses a schema that
is behind and names this command. Run it once, from any node, before starting daemons of a new
version. It is safe to run twice and while daemons run: each migration is one transaction,
serialised by a transaction-scoped advisory lock. With ``inbox.backend = "sqlite"`` there is
nothing to do: the inbox file is created and checked by ``run`` itself.
"""

from __future__ import annotations

import argparse
import sys

from service.config import ConfigError
from service.inbox_backend import missing_extra
from service.run_cmd import config_source_args, resolve_config

EX_CONFIG = 78
EX_UNAVAILABLE = 69


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``db`` and its ``upgrade`` and ``version`` actions."""
    db = sub.add_parser(
        "db", help="the PostgreSQL inbox's schema: upgrade it, or show its version",
        description="Schema changes of the PostgreSQL inbox (inbox.backend = \"postgres\") are "
                    "applied only by `db upgrade`, never by `run`: several daemons share the "
                    "database. Run it once, from any node, after installing a new version.",
        epilog="exit codes: 0 done (or nothing to do), 69 PostgreSQL unreachable, 78 invalid "
               "configuration or a schema newer than this version")
    actions = db.add_subparsers(dest="db_action", required=True, metavar="ACTION")
    for name, text in (("upgrade", "apply the missing migrations (idempotent)"),
                       ("version", "print the schema version found and the one needed")):
        action = actions.add_parser(name, help=text, description=text)
        config_source_args(action)
        action.set_defaults(func=_db)


def _db(args: argparse.Namespace) -> int:
    try:
        config = resolve_config(args)
    except ConfigError as exc:
        print(f"lifecycle-sync: {exc}", file=sys.stderr)
        return EX_CONFIG
    if config.inbox.backend != "postgres":
        print(f"inbox.backend is {config.inbox.backend}: its inbox file is created and checked "
              "by `run`; nothing to do")
        return 0
    try:
        import psycopg  # the optional extra, only when PostgreSQL is really used
    except ImportError as exc:
        print(f"lifecycle-sync: {missing_extra(exc)}", file=sys.stderr)
        return EX_CONFIG

    from subscriber.errors import Fatal
    from subscriber.pg_connect import normalised_dsn, where
    from subscriber.pg_schema import LATEST_VERSION, current_version, upgrade

    place = where(config.inbox.dsn)
    try:
        with psycopg.connect(normalised_dsn(config.inbox.dsn), autocommit=True,
                             connect_timeout=10) as conn:
            if args.db_action == "version":
                print(f"{place}: schema version {current_version(conn)}, this version of "
                      f"lifecycle-sync needs {LATEST_VERSION}")
                return 0
            before, after = upgrade(conn)
    except Fatal as exc:
        print(f"lifecycle-sync: {exc}", file=sys.stderr)
        return EX_CONFIG
    except psycopg.Error as exc:
        print(f"lifecycle-sync: cannot reach the PostgreSQL inbox at {place}: "
              f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}",
              file=sys.stderr)
        return EX_UNAVAILABLE
    print(f"{place}: schema upgraded from version {before} to {after}" if before != after
          else f"{place}: schema already at version {after}; nothing to do")
    return 0
