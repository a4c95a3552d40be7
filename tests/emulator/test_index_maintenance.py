"""The record store's indexes stay true across update, delete, rollback, savepoints and restart,
and an indexed filter really reads only the rows its index names."""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from emulator.org.indexes import indexed_fields
from emulator.org.lookups import TableView
from emulator.org.records import RecordStore, RecordTransaction
from emulator.schema import build_catalog
from emulator.soql import execute, parse
from emulator.soql.keys import equality_key, like_key, like_prefix

CATALOG = build_catalog()
LEAD = CATALOG.get("Lead")
assert LEAD is not None
EMAIL = LEAD.field("Email")
assert EMAIL is not None
USER = "0058d0000000009AAA"
NOW = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)


@pytest.fixture
def store(tmp_path: Path) -> RecordStore:
    return RecordStore(tmp_path / "org.db", CATALOG)


def bucket(store: RecordStore, email: str) -> set[str]:
    return store.index("Lead").equal("Email", [equality_key(email, EMAIL)])


def query_ids(tx: RecordTransaction, where: str, include_deleted: bool = False) -> list[str]:
    query = parse(f"SELECT Id FROM Lead WHERE {where}")
    result = execute(query, CATALOG, tx.table("Lead"), now=NOW, include_deleted=include_deleted)
    return [str(r["Id"]) for r in result.records]


def lead(tx: RecordTransaction, email: str | None, **more: Any) -> str:
    return tx.insert("Lead", {"LastName": "Lee", "Company": "Acme", "Email": email, **more})


def test_salesforce_indexed_fields_are_the_indexed_ones() -> None:
    """Id, Name, external ID / unique fields, lookups, Email on Lead and Contact."""
    # Source: Large Data Volumes best practices, "Indexes":
    # https://developer.salesforce.com/docs/platform/salesforce-large-data-volumes-bp/guide/ldv-deployments-infrastructure-indexes.html
    lead_fields = {f.name for f in indexed_fields(LEAD)}
    expected = {"Id", "Name", "Email", "Workspace_ID__c", "OwnerId", "ConvertedAccountId"}
    assert expected <= lead_fields
    assert "Title" not in lead_fields
    account = CATALOG.get("Account")
    assert account is not None
    assert "Email_Domain__c" in {f.name for f in indexed_fields(account)}
    user = CATALOG.get("User")
    assert user is not None
    assert "Email" not in {f.name for f in indexed_fields(user)}


def test_update_and_delete_move_the_row_between_buckets(store: RecordStore) -> None:
    with store.transaction(USER) as tx:
        lead_id = lead(tx, "Pat@Example.com")
    assert bucket(store, "pat@example.COM") == {lead_id}

    with store.transaction(USER) as tx:
        tx.update("Lead", lead_id, {"Email": "sam@example.com"})
    assert bucket(store, "pat@example.com") == set()
    assert bucket(store, "SAM@example.com") == {lead_id}

    with store.transaction(USER) as tx:
        tx.delete("Lead", lead_id)
    with store.transaction(USER) as tx:
        assert query_ids(tx, "Email = 'sam@example.com'") == []
        assert query_ids(tx, "Email = 'sam@example.com'", include_deleted=True) == [lead_id]
        assert tx.find("Lead", "Email", "sam@example.com") == []


def failing_write(store: RecordStore, lead_id: str) -> None:
    with store.transaction(USER) as tx:
        tx.update("Lead", lead_id, {"Email": "ghost@example.com"})
        lead(tx, "ghost@example.com")
        raise RuntimeError("boom")


def test_a_failed_transaction_leaves_the_indexes_as_they_were(store: RecordStore) -> None:
    with store.transaction(USER) as tx:
        lead_id = lead(tx, "pat@example.com")
    with pytest.raises(RuntimeError, match="boom"):
        failing_write(store, lead_id)
    assert bucket(store, "ghost@example.com") == set()
    assert bucket(store, "pat@example.com") == {lead_id}


def test_uncommitted_rows_are_seen_by_equality_and_prefix_then_forgotten(
    store: RecordStore,
) -> None:
    with store.transaction(USER) as tx:
        committed = lead(tx, "pat@example.com")
    with store.transaction(USER) as tx:
        assert query_ids(tx, "Email LIKE 'pat%'") == [committed]
        fresh = lead(tx, "Patricia@example.com")
        tx.update("Lead", committed, {"Email": "zed@example.com"})
        assert query_ids(tx, "Email LIKE 'PAT%'") == [fresh]
        assert query_ids(tx, "Email IN ('zed@example.com', 'patricia@example.com')") == [
            committed, fresh]
        assert query_ids(tx, "Email = 'pat@example.com'") == []
        tx.rollback_only()
    with store.transaction(USER) as tx:
        assert query_ids(tx, "Email LIKE 'pat%'") == [committed]
        assert tx.find("Lead", "Email", "patricia@example.com") == []


def test_rollback_to_a_savepoint_restores_what_lookups_see(store: RecordStore) -> None:
    with store.transaction(USER) as tx:
        committed = lead(tx, "pat@example.com")
    with store.transaction(USER) as tx:
        early = lead(tx, "early@example.com")
        assert query_ids(tx, "Email = 'early@example.com'") == [early]  # overlay now built
        savepoint = tx.savepoint()
        tx.update("Lead", committed, {"Email": "moved@example.com"})
        tx.update("Lead", early, {"Email": "moved-too@example.com"})
        late = lead(tx, "late@example.com")
        assert query_ids(tx, "Email LIKE 'moved%'") == [committed, early]
        tx.rollback_to(savepoint)
        assert query_ids(tx, "Email = 'pat@example.com'") == [committed]
        assert query_ids(tx, "Email LIKE 'early%'") == [early]
        assert query_ids(tx, "Email LIKE 'moved%' OR Email = 'late@example.com'") == []
        assert tx.find("Lead", "Email", "late@example.com") == []
        assert tx.get("Lead", late) is None


def test_indexes_are_rebuilt_when_the_store_reopens(tmp_path: Path) -> None:
    store = RecordStore(tmp_path / "org.db", CATALOG)
    with store.transaction(USER) as tx:
        first, second = lead(tx, "a@example.com"), lead(tx, "b@example.com")
    with store.transaction(USER) as tx:
        tx.update("Lead", first, {"Email": "c@example.com"})
    store.close()

    again = RecordStore(tmp_path / "org.db", CATALOG)
    with again.transaction(USER) as tx:
        assert [r["Id"] for r in tx.rows("Lead")] == [first, second]  # updated in place
        assert query_ids(tx, "Email IN ('c@example.com', 'b@example.com')") == [
            r["Id"] for r in tx.rows("Lead") if r["Id"] in (first, second)]
        assert query_ids(tx, "Email = 'a@example.com'") == []
        assert query_ids(tx, "Email LIKE 'C%'") == [first]
    again.close()


def test_an_indexed_filter_reads_no_other_row(
    store: RecordStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    with store.transaction(USER) as tx:
        ids = [lead(tx, f"p{i}@example.com", Workspace_ID__c=f"ws-{i}") for i in range(50)]

    def no_scan(self: TableView) -> list[dict[str, Any]]:
        raise AssertionError("scanned every row")

    monkeypatch.setattr(TableView, "scan", no_scan)
    with store.transaction(USER) as tx:
        lead(tx, "pending@example.com")
        assert query_ids(tx, "Email IN ('p3@example.com', 'P7@EXAMPLE.COM')") == [ids[3], ids[7]]
        assert query_ids(tx, "Workspace_ID__c LIKE 'WS-1%' AND Title = null") == [
            ids[1], *ids[10:20]]
        assert query_ids(tx, f"Id = '{ids[5]}' OR Email = 'p9@example.com'") == [ids[5], ids[9]]
        assert [r["Id"] for r in tx.find("Lead", "Workspace_ID__c", "WS-4")] == [ids[4]]
        with pytest.raises(AssertionError, match="scanned"):
            query_ids(tx, "Title = 'CEO'")


def test_like_prefix_reads_the_lexers_pattern() -> None:
    pattern = parse(r"SELECT Id FROM Lead WHERE Name LIKE 'a.b\%c_d%'").where
    assert pattern is not None
    assert like_prefix(pattern.value.like) == "a.b%c"  # type: ignore[union-attr]


def test_like_fold_agrees_with_re_ignorecase_over_all_of_unicode() -> None:
    """Every character ``re.IGNORECASE`` lets match an ASCII pattern character folds to it."""
    everything = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)
    for code in range(32, 127):
        char = chr(code)
        matched = set(re.findall(re.escape(char), everything, re.IGNORECASE))
        assert {like_key(x) for x in matched} == {like_key(char)}, char
