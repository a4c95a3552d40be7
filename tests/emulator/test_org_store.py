"""The record store's transaction API (the seam SOAP convertLead and CDC use) and durability."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest_org import (  # noqa: F401 - fixtures
    OrgHarness,
    https_session,
    org_emulator_fixture,
    org_harness_fixture,
)

from emulator.org.changes import Transaction
from emulator.org.records import RecordStore
from emulator.schema import build_catalog
from emulator.server import Emulator, EmulatorSettings

USER = "0058d0000000009AAA"


@pytest.fixture
def store(tmp_path: Path) -> RecordStore:
    return RecordStore(tmp_path / "org.db", build_catalog())


def test_commit_reports_one_transaction_with_changes_in_order(store: RecordStore) -> None:
    seen: list[Transaction] = []
    store.add_listener(seen.append)
    with store.transaction(USER, "com/salesforce/api/soap/62.0;client=x") as tx:
        lead = tx.insert("Lead", {"LastName": "L", "Company": "Acme"})
        account = tx.insert("Account", {"Name": "Acme"})
        tx.update("Lead", lead, {"IsConverted": True, "ConvertedAccountId": account})

    [transaction] = seen
    changes = transaction.changes
    assert [(c.object_name, c.change_type) for c in changes] == [
        ("Lead", "CREATE"), ("Account", "CREATE"), ("Lead", "UPDATE")]
    assert {"IsConverted", "ConvertedAccountId", "LastModifiedDate"} <= changes[2].changed_fields
    assert changes[2].before is not None
    assert changes[2].before["IsConverted"] is False
    assert all(c.user_id == USER and c.origin.endswith(";client=x") for c in changes)
    assert len({c.commit_timestamp_ms for c in changes}) == 1


def failing_write(store: RecordStore) -> None:
    with store.transaction(USER) as tx:
        tx.insert("Account", {"Name": "Ghost"})
        raise RuntimeError("boom")


def test_an_exception_rolls_everything_back(store: RecordStore) -> None:
    seen: list[Transaction] = []
    store.add_listener(seen.append)
    with pytest.raises(RuntimeError):
        failing_write(store)

    with store.transaction(USER) as tx:
        assert tx.find("Account", "Name", "ghost") == []
    assert seen == []


def test_savepoints_undo_part_of_a_transaction(store: RecordStore) -> None:
    with store.transaction(USER) as tx:
        kept = tx.insert("Account", {"Name": "Kept"})
        mark = tx.savepoint()
        tx.insert("Account", {"Name": "Dropped"})
        tx.rollback_to(mark)

    with store.transaction(USER) as tx:
        assert [r["Id"] for r in tx.rows("Account")] == [kept]


def test_records_and_ids_survive_reopening(tmp_path: Path) -> None:
    first = RecordStore(tmp_path / "org.db", build_catalog())
    with first.transaction(USER) as tx:
        old = tx.insert("Account", {"Name": "Durable"})
    first.close()

    second = RecordStore(tmp_path / "org.db", build_catalog())
    with second.transaction(USER) as tx:
        assert tx.get("Account", old)["Name"] == "Durable"  # type: ignore[index]
        assert tx.insert("Account", {"Name": "Next"}) != old
    second.close()


def test_rest_writes_carry_the_call_options_client_in_their_origin(
    org_harness: OrgHarness,
) -> None:
    seen: list[Transaction] = []
    org_harness.org.store.add_listener(seen.append)
    try:
        response = org_harness.call("POST", "sobjects/Account/", json={"Name": "Origin"},
                                    headers={"Sforce-Call-Options": "client=lifecycle-sync"})
    finally:
        org_harness.org.store.remove_listener(seen.append)

    assert response.status_code == 201
    [change] = seen[0].changes
    assert change.origin == "com/salesforce/api/rest/62.0;client=lifecycle-sync"
    assert change.user_id == org_harness.info["user_id"]


def test_failed_rest_calls_commit_nothing(org_harness: OrgHarness) -> None:
    seen: list[Transaction] = []
    org_harness.org.store.add_listener(seen.append)
    try:
        org_harness.call("POST", "sobjects/Lead/", json={"LastName": "no company"})
    finally:
        org_harness.org.store.remove_listener(seen.append)

    assert seen == []


def test_lead_writes_reach_cdc(org_harness: OrgHarness) -> None:
    store = org_harness.emu.context.bus.store
    before = store.max_seq("/data/LeadChangeEvent")

    org_harness.create("Lead", LastName="Cdc", Company="C")

    assert store.max_seq("/data/LeadChangeEvent") == before + 1


def test_records_tokens_and_credentials_survive_a_restart(tmp_path: Path) -> None:
    settings = EmulatorSettings(state_dir=tmp_path / "state")
    with Emulator(settings) as emu:
        info = emu.info()
        session = https_session(info["ca_cert"])
        headers = {"Authorization": f"Bearer {info['access_token']}"}
        url = f"{info['instance_url']}/services/data/v62.0/sobjects/Account/"
        account = session.post(url, json={"Name": "Kept"}, headers=headers, timeout=10).json()["id"]

    with Emulator(settings) as again:
        info2 = again.info()
        session = https_session(info2["ca_cert"])
        url = f"{info2['instance_url']}/services/data/v62.0/sobjects/Account/{account}"
        assert session.get(url, headers=headers, timeout=10).json()["Name"] == "Kept"
        assert (info2["private_key"], info2["password"]) == (info["private_key"], info["password"])
        users = again.org.store
        with users.transaction("") as tx:
            assert len(tx.rows("User")) == 3
