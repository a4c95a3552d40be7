"""The PostgreSQL inbox's versioned schema, its DSN handling and the pooler check."""

from __future__ import annotations

import psycopg
import pytest

from subscriber.errors import Fatal
from subscriber.inbox_pg import open_pg_inbox
from subscriber.pg_connect import (
    normalised_dsn,
    pooled_by_transaction,
    refuse_transaction_pooler,
    where,
)
from subscriber.pg_schema import LATEST_VERSION, current_version, upgrade


def test_start_refuses_a_schema_behind_and_upgrade_is_idempotent(pg_dsn: str) -> None:
    with pytest.raises(Fatal, match=r"schema version 0.*lifecycle-sync db upgrade"):
        open_pg_inbox(pg_dsn)
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        assert upgrade(conn) == (0, LATEST_VERSION)
        assert upgrade(conn) == (LATEST_VERSION, LATEST_VERSION)
        assert current_version(conn) == LATEST_VERSION
    with open_pg_inbox(pg_dsn) as inbox:
        identity = inbox.identity()
        assert len(identity.inbox_id) == 36
        assert identity.created_at is not None
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO lsync_schema VALUES (%s, now())", (LATEST_VERSION + 1,))
    with pytest.raises(Fatal, match="newer than this version"):
        open_pg_inbox(pg_dsn)


def test_multi_host_dsns_ask_for_the_writable_server() -> None:
    assert "target_session_attrs=read-write" in normalised_dsn("host=a,b dbname=s")
    assert "target_session_attrs=read-write" not in normalised_dsn("host=a dbname=s")
    assert "target_session_attrs=primary" in normalised_dsn(
        "host=a,b dbname=s target_session_attrs=primary")
    assert where("host=a,b port=5432,5433 dbname=s user=u password=pw") == "a,b:5432,5433/s"
    with pytest.raises(Fatal, match="not a valid PostgreSQL connection string"):
        normalised_dsn("host=a = =")


def test_a_transaction_mode_pooler_is_told_apart_from_postgresql(pg_dsn: str) -> None:
    assert not pooled_by_transaction([(10, 20)] * 4), "each client its own, stable backend"
    assert pooled_by_transaction([(10, 10)] * 4), "two clients on one backend (LIFO reuse)"
    assert pooled_by_transaction([(10, 20), (20, 10), (10, 20), (10, 20)]), "backends move"
    refuse_transaction_pooler(pg_dsn)  # PostgreSQL itself: accepted


def test_a_node_refuses_a_replaced_database_unless_told(pg_server, tmp_path) -> None:
    from service.failover_run import check_identity
    from service.state_guard import IDENTITY_NAME, read_identity

    first, second = pg_server.new_schema(), pg_server.new_schema()
    for dsn in (first, second):
        with psycopg.connect(dsn, autocommit=True) as conn:
            upgrade(conn)
    with open_pg_inbox(first) as a, open_pg_inbox(second) as b:
        check_identity(tmp_path, a, reset=False)
        recorded = read_identity(tmp_path / IDENTITY_NAME)
        assert recorded is not None
        assert recorded.inbox_id == a.identity().inbox_id
        check_identity(tmp_path, a, reset=False)
        with pytest.raises(Fatal, match=r"replaced, recreated.*--reset-inbox"):
            check_identity(tmp_path, b, reset=False)
        check_identity(tmp_path, b, reset=True)
        recorded = read_identity(tmp_path / IDENTITY_NAME)
        assert recorded is not None
        assert recorded.inbox_id == b.identity().inbox_id
